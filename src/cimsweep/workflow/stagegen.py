"""Write :mod:`cimsweep.workflow.stages`, one frozen dataclass per stage, from ``PARAMS``.

``python -m cimsweep.workflow.stagegen`` regenerates ``src/cimsweep/workflow/stages.py``
after a parameter is added, removed or changed (``tests/test_stages.py`` says when).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from cimsweep.io import write_with
from cimsweep.workflow.params import PARAMS, STAGE_PARENT, STAGES, Param, Value
from cimsweep.workflow.stagebase import stage_fields

TARGET = Path(__file__).with_name("stages.py")
PYTHON_TYPES = {
    "int": "int",
    "float": "float",
    "str": "str",
    "path": "str",
    "shape": "tuple[int, int]",
}
CLASS_NAMES = {stage: f"{stage.capitalize()}Values" for stage in STAGES}
WIDTH = 100


def python_type(p: Param, optional: bool = False) -> str:
    """The annotation of a parameter's field, e.g. ``tuple[int, int]`` or ``int | None``."""
    return PYTHON_TYPES[p.kind] + (" | None" if optional else "")


def _literal(p: Param, value: Value) -> str:
    if p.kind == "shape":
        return repr((int(value[0]), int(value[1])))
    if p.kind == "float":
        return repr(float(value))
    if p.kind == "int":
        return repr(int(value))
    return json.dumps(value)


def field_doc(p: Param) -> str:
    """One field's docstring: meaning, unit, allowed values and the stages that read it."""
    parts = [p.doc.rstrip()]
    if p.unit:
        parts.append(f"Unit: {p.unit}.")
    if p.choices:
        parts.append("One of: " + ", ".join(str(c) for c in p.choices) + ".")
    bounds = []
    if p.minimum is not None:
        bounds.append(f"{'>' if p.exclusive_minimum else '>='} {p.minimum:g}")
    if p.maximum is not None:
        bounds.append(f"<= {p.maximum:g}")
    if bounds:
        parts.append("Range: " + ", ".join(bounds) + ".")
    if p.train_modes:
        parts.append("Training reads it in modes: " + ", ".join(p.train_modes) + ".")
    return " ".join(parts).replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _docstring(text: str, indent: str) -> list[str]:
    lines = textwrap.wrap(text, WIDTH - len(indent) - 3, break_long_words=False)
    if len(lines) == 1 and len(indent) + len(lines[0]) + 6 <= WIDTH:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}', *(f"{indent}{line}" for line in lines[1:]), f'{indent}"""']


def own_fields(stage: str) -> list[tuple[str, bool]]:
    """The fields a stage's class declares: those its parent stage's class lacks, or holds with
    another optionality (a training-mode parameter the stage itself always reads)."""
    parent = STAGE_PARENT[stage]
    inherited = dict(stage_fields(parent)) if parent else {}
    mine = stage_fields(stage)
    missing = inherited.keys() - dict(mine).keys()
    if missing:  # a subclass cannot drop a field
        raise ValueError(f"{stage}: parent stage {parent} holds {sorted(missing)}")
    return [(n, opt) for n, opt in mine if inherited.get(n) != opt]


def render_class(stage: str) -> list[str]:
    """Source lines of one stage's dataclass (a subclass of its parent stage's)."""
    name = CLASS_NAMES[stage]
    parent = STAGE_PARENT[stage]
    base = CLASS_NAMES[parent] if parent else "StageValues"
    doc = f"Values the ``{stage}`` stage's step reads"
    doc += f": those of :class:`{base}` and the following." if parent else "."
    out = [
        "",
        "",
        "@dataclass(frozen=True, kw_only=True)",
        f"class {name}({base}):",
        *_docstring(doc, "    "),
        "",
        f'    stage: ClassVar[str] = "{stage}"',
    ]
    for field_name, optional in own_fields(stage):
        p = PARAMS[field_name]
        default = "None" if optional else _literal(p, p.default)
        out.append("")
        out.append(f"    {field_name}: {python_type(p, optional)} = {default}")
        out.extend(_docstring(field_doc(p), "    "))
    return out


def render() -> str:
    """The text of ``stages.py``."""
    lines = [
        '"""Typed values of each workflow stage: one frozen dataclass per stage.',
        "",
        "Generated from src/cimsweep/workflow/params/ by ``python -m cimsweep.workflow.stagegen``;",
        "do not edit. Build one with ``InferValues.from_values(mapping)``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass",
        "from typing import ClassVar",
        "",
        "from cimsweep.workflow.stagebase import StageValues",
        "",
        "__all__ = [" + ", ".join(f'"{CLASS_NAMES[s]}"' for s in STAGES) + ', "STAGE_VALUES"]',
    ]
    for stage in STAGES:
        lines.extend(render_class(stage))
    lines += [
        "",
        "",
        "STAGE_VALUES: dict[str, type[StageValues]] = {",
        *(f'    "{s}": {CLASS_NAMES[s]},' for s in STAGES),
        "}",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the generated module to the given path (default: the package's ``stages.py``)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else TARGET
    text = render()
    write_with(path, lambda tmp: tmp.write_text(text))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

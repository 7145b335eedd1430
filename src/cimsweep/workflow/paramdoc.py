"""The parameter reference page of the documentation, rendered from :data:`PARAMS`.

The mkdocs hook ``docs/hooks.py`` puts :func:`render` into ``docs/parameters.md`` at build
time; ``python -m cimsweep.workflow.paramdoc`` prints it.
"""

from __future__ import annotations

from types import ModuleType

from cimsweep.workflow.params import (
    PARAMS,
    STAGES,
    Param,
    crossbar,
    data,
    hardware,
    nonideal,
    quantization,
    training,
)

# The sections of the reference, in the order PARAMS lists them.
SECTIONS: tuple[ModuleType, ...] = (data, training, quantization, crossbar, nonideal, hardware)
COLUMNS = ("name", "unit", "range / choices", "stages", "default", "meaning")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def allowed(p: Param) -> str:
    """Allowed values in words: choices, bounds, or the kind for free values."""
    if p.choices:
        return ", ".join(f"`{c}`" for c in p.choices)
    if p.kind == "shape":
        return "rows = cols (int ≥ 1) or [rows, cols]"
    if p.kind == "path":
        return "path or text"
    bounds = []
    if p.minimum is not None:
        bounds.append(f"{'>' if p.exclusive_minimum else '≥'} {p.minimum:g}")
    if p.maximum is not None:
        bounds.append(f"≤ {p.maximum:g}")
    return f"{p.kind} " + ", ".join(bounds) if bounds else p.kind


def stages(p: Param) -> str:
    """The stages reading a parameter, in data-flow order (``run time``: no result depends)."""
    if p.runtime_setting:
        return "run time"
    text = ", ".join(s for s in STAGES if s in p.stages)
    if p.train_modes:
        text += ("; " if text else "") + "train (" + ", ".join(p.train_modes) + ")"
    return text


def _default(p: Param) -> str:
    value = list(p.default) if isinstance(p.default, tuple) else p.default
    return f"`{value!r}`" if value != "" else '`""`'


def row(p: Param) -> str:
    """One table row."""
    cells = (f"`{p.name}`", p.unit, allowed(p), stages(p), _default(p), p.doc)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render() -> str:
    """The reference as Markdown: one table per section."""
    out: list[str] = []
    for section in SECTIONS:
        title = (section.__doc__ or section.__name__).strip().splitlines()[0].rstrip(".")
        out += [f"## {title}", "", "| " + " | ".join(COLUMNS) + " |"]
        out.append("|" + "---|" * len(COLUMNS))
        out += [row(p) for p in section.PARAMS]
        out.append("")
    return "\n".join(out)


def covers_all() -> bool:
    """True when the sections hold every declared parameter exactly once."""
    names = [p.name for section in SECTIONS for p in section.PARAMS]
    return sorted(names) == sorted(PARAMS) and len(names) == len(set(names))


if __name__ == "__main__":
    print(render())

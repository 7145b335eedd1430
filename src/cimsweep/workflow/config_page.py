"""Write ``config/README.md``, the user page of the parameter catalog and the figure registry.

Rendered from :data:`cimsweep.workflow.params.PARAMS` (one table per params module) and
:data:`cimsweep.plots.catalog.FIGURES`; ``python -m cimsweep.workflow.schema`` regenerates it
together with the JSON schema, and a test checks that the committed page is in sync.
"""

from __future__ import annotations

from types import ModuleType

from cimsweep.plots.catalog import FIGURES
from cimsweep.workflow.params import Param, crossbar, data, hardware, nonideal, quantization
from cimsweep.workflow.params import training as training_params

SECTIONS: tuple[ModuleType, ...] = (
    data,
    training_params,
    quantization,
    crossbar,
    nonideal,
    hardware,
)

INTRO = """\
<!-- Generated from src/cimsweep/workflow/params/ and src/cimsweep/plots/catalog.py by
`python -m cimsweep.workflow.schema`; do not edit. -->
# Configuring a sweep

A config file has three sections:

- `params`: one value per parameter; anything left out takes its default (below);
- `grid`: parameter -> list of values to sweep; any parameter except paths can be an axis;
- `figures`: which figures to draw (`draw: [...]`, default: all that apply) and their options.

Files here: `config.yaml` (the default sweep, run by `snakemake --profile profiles/default`),
`sweeps/*.yaml` (ready-made sweeps: `--configfile config/sweeps/NAME.yaml`), `tech/*.yaml`
(technology files of the PPA estimator, one per `tech_node`). The tiny test config is
`.test/config/config.yaml` (`snakemake --directory .test`). The machine-readable form of this
page is the JSON schema `workflow/schemas/config.schema.yaml`, which every run validates the
config against; names, types, ranges and figure options are checked before any job runs.

Stages: the result of a stage depends on the parameters it reads (column *stages*); changing a
value reruns only those stages (`data` -> `train` -> `calib` -> `infer`; `ppa` apart).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _range(p: Param) -> str:
    if p.choices:
        return ", ".join(f"`{c}`" for c in p.choices)
    lo = "" if p.minimum is None else f"{'>' if p.exclusive_minimum else '>='} {p.minimum:g}"
    hi = "" if p.maximum is None else f"<= {p.maximum:g}"
    return " and ".join(x for x in (lo, hi) if x) or {"shape": "rows x cols"}.get(p.kind, "")


def _stages(p: Param) -> str:
    stages: list[str] = [s for s in ("data", "train", "calib", "infer", "ppa") if s in p.stages]
    if p.train_modes:
        stages.append(f"train ({'/'.join(p.train_modes)})")
    return ", ".join(stages) or "run-time setting"


def _default(p: Param) -> str:
    value = p.default
    if isinstance(value, tuple):
        value = f"{value[0]}x{value[1]}"
    return f"`{value}`" if value not in ("", None) else ""


def render() -> str:
    """The page's Markdown text."""
    out = [INTRO]
    for module in SECTIONS:
        title = (module.__doc__ or module.__name__).strip().splitlines()[0].rstrip(".")
        out += [f"\n## {title}\n", "| parameter | default | unit | range | stages | meaning |"]
        out.append("|---|---|---|---|---|---|")
        for p in module.PARAMS:
            row = (f"`{p.name}`", _default(p), p.unit, _range(p), _stages(p), _cell(p.doc))
            out.append("| " + " | ".join(_cell(c) for c in row) + " |")
    out += [
        "\n## Figures\n",
        "Each figure's options (`figures: {NAME: {option: value}}`); a figure pins every swept",
        "axis it does not plot to its reference value (the `params` value when on the grid,",
        "else the axis' first value).\n",
        "| figure | options | plots by default | drawn by default |",
        "|---|---|---|---|",
    ]
    for spec in FIGURES.values():
        options = ", ".join(f"`{k}` ({kind})" for k, kind in spec.options.items())
        axes = ", ".join(f"{k} = `{v}`" for k, v in spec.axes.items())
        when = f"when `{spec.needs_axis}` is swept" if spec.needs_axis else "always"
        out.append(f"| `{spec.name}` | {options} | {axes} | {when} |")
    out.append(
        "\nOption kinds: *where* `{parameter: value or [values]}` (each on the grid), *axis* a"
        " parameter name, *optional_axis* a parameter name or `null`, *params* a list of"
        " parameter names, *count* an integer >= 1, *point* `{parameter: one grid value}`."
    )
    return "\n".join(out) + "\n"

"""The figure registry: one declaration per figure.

Everything else is derived from :data:`FIGURES`: the config's ``figures:`` schema and option
checks (:mod:`cimsweep.workflow.figspec`), the plotting rules' wildcard and params, the exports
of :mod:`cimsweep.plots` and the captions of the HTML report. Adding a figure is one function
(in a new or an existing module of :mod:`cimsweep.plots`) plus one :class:`FigureSpec` here.

This module imports no plotting library, so planning a sweep stays fast; a figure's function is
imported only when it is drawn (:meth:`FigureSpec.load`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# What an option of a figure accepts (checked at plan time by cimsweep.workflow.figspec):
#   where         mapping parameter -> value or list of values, each on the sweep's grid
#   axis          a parameter name (the axis the figure plots there)
#   optional_axis a parameter name or null (no panels)
#   params        a list of parameter names
#   count         an integer >= 1
#   point         mapping parameter -> one grid value (layer_diagnostics)
OptionKind = Literal["where", "axis", "optional_axis", "params", "count", "point"]
OPTION_KINDS: tuple[OptionKind, ...] = (
    "where",
    "axis",
    "optional_axis",
    "params",
    "count",
    "point",
)
LINE_OPTIONS: dict[str, OptionKind] = {
    "where": "where",
    "x": "axis",
    "hue": "axis",
    "panel": "optional_axis",
}


@dataclass(frozen=True, eq=False)
class FigureSpec:
    """Declaration of one figure.

    ``function``: ``"module:name"``, the module inside :mod:`cimsweep.plots` (or a full
    dotted path, for a figure defined elsewhere); it takes the tidy table
    (``source="table"``) or one inference result's layer dict (``source="point"``) and the
    options as keyword arguments, and returns a matplotlib Figure. ``options``: option name ->
    :data:`OptionKind`. ``axes``: the parameters it plots by default (option name ->
    parameter); every other swept axis is pinned to its reference value (none is pinned when
    ``axes`` is empty: the figure shows the whole grid). ``needs_axis``: drawn by default only
    when the sweep varies this parameter. ``front``: a Pareto-front figure, whose hardware axes
    span the front instead of being pinned. ``caption``: reStructuredText shown under the
    figure in the HTML report.
    """

    name: str
    function: str
    caption: str
    options: Mapping[str, OptionKind] = field(default_factory=dict)
    axes: Mapping[str, str] = field(default_factory=dict)
    needs_axis: str | None = None
    front: bool = False
    source: Literal["table", "point"] = "table"

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.options.items() if v not in OPTION_KINDS}
        if bad:
            raise ValueError(f"figure {self.name}: unknown option kinds {bad}")
        if set(self.axes) - set(self.options):
            raise ValueError(f"figure {self.name}: default axes {sorted(self.axes)} not options")

    def load(self) -> Callable[..., Any]:
        """The plotting function (imports its module)."""
        module, _, attr = self.function.partition(":")
        path = module if "." in module else f"cimsweep.plots.{module}"
        return getattr(importlib.import_module(path), attr)


def register(*specs: FigureSpec) -> dict[str, FigureSpec]:
    """Registry of ``specs`` by name, in declaration order; refuses a name declared twice."""
    out: dict[str, FigureSpec] = {}
    for spec in specs:
        if spec.name in out:
            raise ValueError(f"figure {spec.name!r} declared twice")
        out[spec.name] = spec
    return out


FIGURES: dict[str, FigureSpec] = register(
    FigureSpec(
        "accuracy_vs_energy",
        "energy:accuracy_vs_energy",
        options={"where": "where", "label_params": "params", "max_labels": "count"},
        caption="""
Accuracy versus energy per inference, one panel per model. Each marker is one grid point (mean
over Monte-Carlo chip instances, error bars ±1 standard deviation); the highlighted staircase is
the Pareto front (lowest energy for a given accuracy), its points labelled with their parameters.
The dotted line is the float model's accuracy.
""",
    ),
    FigureSpec(
        "accuracy_vs_adc",
        "lines:accuracy_vs_adc",
        options=LINE_OPTIONS,
        axes={"x": "adc_precision", "hue": "sub_array", "panel": "read_noise"},
        caption="""
Accuracy versus ADC precision, one line per subarray size and one panel per read-noise level;
bands show ±1 standard deviation over Monte-Carlo chip instances. Other swept parameters are
held at their reference values (named in the figure).
""",
    ),
    FigureSpec(
        "accuracy_heatmap",
        "heatmap:accuracy_heatmap",
        options={"where": "where", "x": "axis", "y": "axis", "panel": "optional_axis"},
        axes={"x": "adc_precision", "y": "sub_array", "panel": "read_noise"},
        caption="""
Accuracy over ADC precision and subarray size, one heatmap per read-noise level, each cell
annotated with its mean accuracy. Failed grid points are hatched.
""",
    ),
    FigureSpec(
        "accuracy_vs_retention",
        "lines:accuracy_vs_retention",
        options=LINE_OPTIONS,
        axes={"x": "t", "hue": "v"},
        caption="""
Accuracy versus retention time since programming (log axis), one line per drift coefficient,
with ±1 standard deviation bands over Monte-Carlo chip instances.
""",
    ),
    FigureSpec(
        "accuracy_vs_noise",
        "lines:accuracy_vs_noise",
        options=LINE_OPTIONS,
        axes={"x": "read_noise", "hue": "training"},
        needs_axis="read_noise",
        caption="""
Accuracy versus read noise (relative to the conductance range), one line per training mode
(float training with post-training quantization, quantization-aware, noise-aware), with ±1
standard deviation bands over Monte-Carlo chip instances: how much accuracy each training mode
recovers as the devices get noisier.
""",
    ),
    FigureSpec(
        "pareto_by_training",
        "lines:pareto_by_training",
        options={"where": "where", "hue": "axis"},
        axes={"hue": "training"},
        needs_axis="training",
        front=True,
        caption="""
Accuracy-versus-energy Pareto fronts, one per training mode, one panel per model: the hardware
parameters span each front, the other swept parameters are held at their reference values. A
front above another reaches the same accuracy with less energy per inference.
""",
    ),
    FigureSpec(
        "breakdown",
        "cost_breakdown:breakdown",
        options={"max_rows": "count"},
        caption="""
Energy per inference and chip area split into components (array, ADC, shift-add/accumulation,
buffers, interconnect, other peripherals) for the Pareto-optimal configurations, and TOPS/W
versus accuracy of every grid point.
""",
    ),
    FigureSpec(
        "layer_diagnostics",
        "layers:layer_diagnostics",
        options={"point": "point"},
        source="point",
        caption="""
Per-layer diagnostics of one grid point: the fraction of ADC conversions that clip and the
output signal-to-noise ratio of each crossbar-mapped layer, showing which layer fails first
(n/a: a lossless layer, whose output has no error).
""",
    ),
)

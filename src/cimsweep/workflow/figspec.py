"""Which figures a sweep draws and with which options (the config's ``figures:`` section).

Every figure is drawn by default. Figures that plot accuracy against one or two axes pin each
other swept axis to its *reference value*: the value under ``params`` when the grid contains it,
else the axis' first grid value. So ``params: {adc_precision: 5}`` makes 5-bit ADCs the
reference of the retention and noise figures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cimsweep.workflow.config import ConfigError, Sweep, _suggest
from cimsweep.workflow.params import PARAMS, Value, canonical, token

FIGURES = (
    "accuracy_vs_energy",
    "accuracy_vs_adc",
    "accuracy_heatmap",
    "accuracy_vs_retention",
    "accuracy_vs_noise",
    "pareto_by_training",
    "breakdown",
    "layer_diagnostics",
)
# Pareto-front figures: hardware axes (those PPA reads) span the front; the rest are pinned.
_FRONT_FIGURES = {"pareto_by_training"}
# Figures drawn by default only when the sweep has this axis (a comparison across its values).
_NEEDS_AXIS = {"accuracy_vs_noise": "read_noise", "pareto_by_training": "training"}

# Axes each figure plots itself (besides the model); the others are pinned.
_DEFAULT_AXES: dict[str, dict[str, str]] = {
    "accuracy_vs_adc": {"x": "adc_precision", "hue": "sub_array", "panel": "read_noise"},
    "accuracy_heatmap": {"x": "adc_precision", "y": "sub_array", "panel": "read_noise"},
    "accuracy_vs_retention": {"x": "t", "hue": "v"},
    "accuracy_vs_noise": {"x": "read_noise", "hue": "training"},
    "pareto_by_training": {"hue": "training"},
}
_OPTION_KEYS = {
    "accuracy_vs_energy": {"where", "label_params", "max_labels"},
    "accuracy_vs_adc": {"where", "x", "hue", "panel"},
    "accuracy_heatmap": {"where", "x", "y", "panel"},
    "accuracy_vs_retention": {"where", "x", "hue", "panel"},
    "accuracy_vs_noise": {"where", "x", "hue", "panel"},
    "pareto_by_training": {"where", "hue"},
    "breakdown": {"max_rows"},
    "layer_diagnostics": {"point"},
}


def figures_schema() -> dict[str, Any]:
    """JSON schema of the ``figures:`` config section."""
    props: dict[str, Any] = {
        "draw": {
            "type": "array",
            "items": {"type": "string", "enum": list(FIGURES)},
            "uniqueItems": True,
            "description": "figures to draw (default: all)",
        }
    }
    for name, keys in _OPTION_KEYS.items():
        props[name] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: {"description": f"option {k} of {name}"} for k in sorted(keys)},
        }
    return {"type": "object", "additionalProperties": False, "properties": props}


def reference_value(sweep: Sweep, name: str) -> Value:
    """The value a figure pins an axis it does not plot to."""
    if name in sweep.grid and sweep.values[name] not in sweep.grid[name]:
        return sweep.grid[name][0]
    return sweep.values[name]


def _check_names(where: str, names: Mapping[str, Any]) -> None:
    for key in names:
        if key not in PARAMS:
            raise ConfigError(f"unknown parameter {key!r} in {where}{_suggest(key, list(PARAMS))}")


def figures_to_draw(raw: Mapping[str, Any] | None, sweep: Sweep | None = None) -> list[str]:
    """Names of the figures the config asks for.

    Without a ``draw`` list: every figure, except the comparisons across an axis the sweep does
    not vary (accuracy vs noise needs a ``read_noise`` axis, fronts per training mode a
    ``training`` axis).
    """
    raw = raw or {}
    if "draw" in raw:
        return [f for f in FIGURES if f in raw["draw"]]
    return [
        f for f in FIGURES if sweep is None or f not in _NEEDS_AXIS or _NEEDS_AXIS[f] in sweep.grid
    ]


def figure_options(sweep: Sweep, raw: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """Keyword arguments for the plotting function of figure ``name``."""
    options = dict((raw or {}).get(name) or {})
    if name == "layer_diagnostics":
        return {}
    plotted = {**_DEFAULT_AXES.get(name, {}), **{k: v for k, v in options.items() if k != "where"}}
    if name in _DEFAULT_AXES:
        where = {
            axis: reference_value(sweep, axis)
            for axis in sweep.grid
            if axis != "model"
            and axis not in plotted.values()
            and not (name in _FRONT_FIGURES and "ppa" in PARAMS[axis].stages)
        }
        user_where = options.get("where") or {}
        _check_names(f"figures.{name}.where", user_where)
        where.update({k: _canonical_list(k, v) for k, v in user_where.items()})
        options["where"] = {k: _plain(v) for k, v in where.items()}
    return options


def _canonical_list(name: str, value: Any) -> Any:
    if isinstance(value, list) and PARAMS[name].kind != "shape":
        return [canonical(name, v) for v in value]
    return canonical(name, value)


def _plain(value: Any) -> Any:
    """Table cells hold shapes as ``"RxC"`` strings."""
    if isinstance(value, tuple):
        return f"{value[0]}x{value[1]}"
    return value


def diagnostics_point(sweep: Sweep, raw: Mapping[str, Any] | None) -> dict[str, str]:
    """Path tokens of the grid point whose per-layer diagnostics are drawn (figure 6)."""
    chosen = dict(((raw or {}).get("layer_diagnostics") or {}).get("point") or {})
    _check_names("figures.layer_diagnostics.point", chosen)
    point = {}
    for axis in sweep.grid:
        value = canonical(axis, chosen[axis]) if axis in chosen else reference_value(sweep, axis)
        if value not in sweep.grid[axis]:
            raise ConfigError(
                f"figures.layer_diagnostics.point: {axis} = {token(axis, value)} is not on the "
                f"grid; expected one of {[token(axis, v) for v in sweep.grid[axis]]}"
            )
        point[axis] = token(axis, value)
    return point

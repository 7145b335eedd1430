"""Which figures a sweep draws and with which options (the config's ``figures:`` section).

Every figure is drawn by default. Figures that plot accuracy against one or two axes pin each
other swept axis to its *reference value*: the value under ``params`` when the grid contains it,
else the axis' first grid value. So ``params: {adc_precision: 5}`` makes 5-bit ADCs the
reference of the retention and noise figures.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from cimsweep.plots.catalog import FIGURES as SPECS
from cimsweep.workflow.config import ConfigError, Sweep, _suggest
from cimsweep.workflow.params import PARAMS, Value, canonical, token

FIGURES = tuple(SPECS)  # the registered figures' names, in declaration order

_SCHEMA: dict[str, dict[str, Any]] = {
    "where": {"type": "object", "description": "pin swept parameters: {name: value or [values]}"},
    "axis": {"type": "string", "description": "parameter plotted there"},
    "optional_axis": {"type": ["string", "null"], "description": "parameter or null (none)"},
    "params": {"type": "array", "items": {"type": "string"}, "description": "parameter names"},
    "count": {"type": "integer", "minimum": 1, "description": "a count, at least 1"},
    "point": {"type": "object", "description": "one grid point: {name: value}"},
}


def figures_schema() -> dict[str, Any]:
    """JSON schema of the ``figures:`` config section."""
    props: dict[str, Any] = {
        "draw": {
            "type": "array",
            "items": {"type": "string", "enum": list(SPECS)},
            "uniqueItems": True,
            "description": "figures to draw (default: all)",
        }
    }
    for name, spec in SPECS.items():
        props[name] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                k: {
                    **copy.deepcopy(_SCHEMA[kind]),
                    "description": f"{name}: {_SCHEMA[kind]['description']}",
                }
                for k, kind in sorted(spec.options.items())
            },
        }
    return {"type": "object", "additionalProperties": False, "properties": props}


def check_options(raw: Mapping[str, Any] | None) -> None:
    """Refuse unknown figures, unknown options and options of the wrong type or naming an
    unknown parameter, with a message naming the figure and the key (before the schema)."""
    if raw is None:
        return
    if not isinstance(raw, Mapping):
        raise ConfigError("config section 'figures' must be a mapping of figure names")
    for name, options in raw.items():
        if name == "draw":
            _check_draw(options)
            continue
        check_known(
            name, SPECS, "unknown figure {key!r} in figures{hint}; expected one of: {expected}"
        )
        if options is None:
            continue
        if not isinstance(options, Mapping):
            raise ConfigError(
                f"figures.{name}: expected a mapping of options, got {type(options).__name__}"
            )
        allowed = SPECS[name].options
        for key, value in options.items():
            check_known(
                key,
                sorted(allowed),
                f"figures.{name}: unknown option {{key!r}}{{hint}}; expected one of: {{expected}}",
            )
            _check_option(f"figures.{name}.{key}", allowed[key], value)


def _check_draw(draw: Any) -> None:
    if not isinstance(draw, list):
        raise ConfigError(f"figures.draw: expected a list of figure names, got {draw!r}")
    for name in draw:
        check_known(
            name, SPECS, "figures.draw: unknown figure {key!r}{hint}; expected one of: {expected}"
        )


def check_known(key: Any, allowed: Iterable[str], message: str) -> None:
    """Refuse a ``key`` (option name, column, figure, ...) that is not in ``allowed``.

    ``message`` is formatted with ``key``, ``hint`` (a "did you mean" for the closest allowed
    name, or ""), ``expected`` (the allowed names joined by commas, in the given order) and
    ``choices`` (their list) into the :class:`ConfigError`.
    """
    names = [str(a) for a in allowed]
    if key in names:
        return
    raise ConfigError(
        message.format(
            key=key, hint=_suggest(str(key), names), expected=", ".join(names), choices=names
        )
    )


def _check_option(where: str, kind: str, value: Any) -> None:
    """Type and parameter-name check of one option value."""
    if kind in ("where", "point"):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping {{parameter: value}}, got {value!r}")
        _check_names(where, value)
    elif kind in ("axis", "optional_axis"):
        if value is None and kind == "optional_axis":
            return
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a parameter name, got {value!r}")
        _check_names(where, {value: None})
    elif kind == "params":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected a list of parameter names, got {value!r}")
        _check_names(where, dict.fromkeys(value))
    elif kind == "count" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{where}: expected an integer >= 1, got {value!r}")


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
        return [f for f in SPECS if f in raw["draw"]]
    return [
        name
        for name, spec in SPECS.items()
        if sweep is None or spec.needs_axis is None or spec.needs_axis in sweep.grid
    ]


def figure_options(sweep: Sweep, raw: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """Keyword arguments for the plotting function of figure ``name``.

    Raises :class:`ConfigError` naming the figure and the key for an option of the wrong type,
    an unknown parameter or a ``where`` value that is not on the sweep's grid.
    """
    check_options({name: (raw or {}).get(name)})
    spec = SPECS[name]
    options = dict((raw or {}).get(name) or {})
    if spec.source != "table":
        return {}
    if "where" not in spec.options or not (spec.axes or "where" in options):
        return options
    plotted = {**spec.axes, **{k: v for k, v in options.items() if k != "where"}}
    where = {
        axis: reference_value(sweep, axis)
        for axis in sweep.grid
        if spec.axes  # a figure without plotted axes shows the whole grid
        and axis != "model"
        and axis not in plotted.values()
        and not (spec.front and "ppa" in PARAMS[axis].stages)
    }
    user_where = options.get("where") or {}
    for axis, value in user_where.items():
        where[axis] = _on_grid(sweep, f"figures.{name}.where.{axis}", axis, value)
    options["where"] = {k: _plain(v) for k, v in where.items()}
    return options


def _on_grid(sweep: Sweep, key: str, axis: str, value: Any) -> Any:
    """``value`` (a list: each value) in canonical form, refused unless the sweep has it.

    A list of a shape parameter is one ``[rows, cols]`` shape.
    """
    many = isinstance(value, list) and PARAMS[axis].kind != "shape"
    grid = sweep.grid.get(axis, [sweep.values[axis]])
    out = []
    for v in value if many else [value]:
        try:
            c = canonical(axis, v)
        except (TypeError, ValueError, IndexError):
            raise ConfigError(f"{key}: {v!r} is not a valid value of {axis}") from None
        if c not in grid:
            raise ConfigError(
                f"{key}: {token(axis, c)} is not on the grid; expected one of "
                f"{[token(axis, g) for g in grid]}"
            )
        out.append(c)
    return out if many else out[0]


def _plain(value: Any) -> Any:
    """Table cells hold shapes as ``"RxC"`` strings."""
    if isinstance(value, tuple):
        return f"{value[0]}x{value[1]}"
    return value


def diagnostics_point(sweep: Sweep, raw: Mapping[str, Any] | None) -> dict[str, str]:
    """Path tokens of the grid point whose per-layer diagnostics are drawn (figure 6)."""
    check_options({"layer_diagnostics": (raw or {}).get("layer_diagnostics")})
    chosen = dict(((raw or {}).get("layer_diagnostics") or {}).get("point") or {})
    values = {}
    for axis, value in chosen.items():
        key = f"figures.layer_diagnostics.point.{axis}"
        values[axis] = _on_grid(sweep, key, axis, value)
        if isinstance(values[axis], list):
            raise ConfigError(f"{key}: expected one value, got {value!r}")
    return {
        axis: token(axis, values[axis] if axis in values else reference_value(sweep, axis))
        for axis in sweep.grid
    }

"""The ``search:`` config section: objectives, space, budget, seed, constraints, sampler.

A search replaces the ``grid:`` section: each axis of ``search.space`` is a grid axis of the
sweep (so a point the search proposes has exactly the result paths a grid holding it would
use), but only the points the sampler proposes are run.

Example::

    search:
      objectives: {accuracy_mean: max, energy_J: min}
      space:
        adc_precision: [3, 4, 5, 6, 7, 8]
        read_noise: {low: 0.0, high: 0.2, step: 0.02}
        t: {low: 1.0, high: 3.15e7, log: true}
      budget: 60          # distinct points evaluated in all
      batch: 12           # points per round
      seed: 0
      sampler: tpe        # tpe (default), nsga2, nsga3, gp, random
      constraints: ["accuracy_mean >= 0.9"]
      prune_with_ppa: true  # PPA of the whole space first; drop points that cannot reach the front
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cimsweep.workflow.config import ConfigError, _check_value, _suggest
from cimsweep.workflow.figspec import check_known
from cimsweep.workflow.params import PARAMS, Value, canonical, token

SAMPLERS = ("nsga2", "nsga3", "tpe", "gp", "random")
KEYS = (
    "objectives",
    "space",
    "budget",
    "batch",
    "seed",
    "sampler",
    "constraints",
    "prune_with_ppa",
)
DIRECTIONS = ("min", "max")
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*(\S+)\s*$")
RANGE_KEYS = ("low", "high", "log", "step")


@dataclass(frozen=True)
class Axis:
    """One search axis: a list of values (``choices``) or a numeric range."""

    name: str
    choices: tuple[Value, ...] = ()
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def is_range(self) -> bool:
        """True for an int/float range, False for a list of values."""
        return not self.choices

    def grid_values(self) -> list[Value]:
        """Values standing for this axis in the sweep's grid (a range: its two ends)."""
        if self.choices:
            return list(self.choices)
        assert self.low is not None and self.high is not None
        return [canonical(self.name, self.low), canonical(self.name, self.high)]

    def size(self) -> float:
        """Number of distinct values (``inf`` for a continuous range)."""
        if self.choices:
            return len(self.choices)
        assert self.low is not None and self.high is not None
        if PARAMS[self.name].kind == "int":
            return int(self.high - self.low) // int(self.step or 1) + 1
        if self.step:
            return int(round((self.high - self.low) / self.step)) + 1
        return math.inf


@dataclass(frozen=True)
class Constraint:
    """``column op value``: a point is feasible when it holds."""

    column: str
    op: str
    value: float

    def violation(self, x: float) -> float:
        """Optuna's convention: <= 0 when satisfied (NaN counts as violated)."""
        if not math.isfinite(x):
            return 1.0
        gap = self.value - x if self.op in (">=", ">") else x - self.value
        return gap if self.op in (">=", "<=") else gap + (0.0 if gap < 0 else 1e-12)

    def __str__(self) -> str:
        return f"{self.column} {self.op} {self.value:g}"


@dataclass(frozen=True)
class SearchSpec:
    """A validated ``search:`` section."""

    objectives: dict[str, str]  # table column -> "min" | "max"
    axes: tuple[Axis, ...]
    budget: int
    batch: int
    seed: int
    sampler: str
    constraints: tuple[Constraint, ...]
    prune_with_ppa: bool = False

    def rounds(self) -> int:
        """Rounds needed to spend the budget."""
        return math.ceil(self.budget / self.batch)

    def grid(self) -> dict[str, list[Value]]:
        """The sweep grid standing for the space (same axes, so the same result paths)."""
        return {a.name: a.grid_values() for a in self.axes}

    def space_size(self) -> float:
        """Number of distinct points of the space (``inf`` with a continuous axis)."""
        return math.prod(a.size() for a in self.axes)


def _table_columns() -> list[str]:
    from cimsweep.results import METRIC_COLUMNS, param_columns

    return [*param_columns(), *METRIC_COLUMNS]


def _axis(name: str, body: Any) -> Axis:
    where = f"search.space.{name}"
    if name not in PARAMS:
        raise ConfigError(
            f"unknown key {name!r} in search.space{_suggest(name, list(PARAMS))}; expected a "
            "parameter name"
        )
    p = PARAMS[name]
    if p.kind == "path" or p.runtime_setting:
        raise ConfigError(f"{where}: {name} is a run-time setting or a path, not a search axis")
    if isinstance(body, list):
        if not body:
            raise ConfigError(f"{where} must be a non-empty list of values or a range")
        for v in body:
            _check_value("search.space", name, v)
        canon = [canonical(name, v) for v in body]
        tokens = [token(name, v) for v in canon]
        if len(set(tokens)) != len(tokens):
            raise ConfigError(f"{where} lists a value more than once; values must be unique")
        return Axis(name, choices=tuple(canon))
    if not isinstance(body, Mapping):
        raise ConfigError(f"{where} must be a list of values or {{low, high, log, step}}")
    if p.kind not in ("int", "float") or p.choices:
        raise ConfigError(f"{where}: {name} ({p.kind}) takes a list of values, not a range")
    unknown = sorted(set(body) - set(RANGE_KEYS))
    if unknown or "low" not in body or "high" not in body:
        raise ConfigError(
            f"{where}: a range takes low, high (required), log and step; got {sorted(body)}"
        )
    low, high = body["low"], body["high"]
    for key, v in (("low", low), ("high", high)):
        try:
            _check_value("search.space", name, v)
        except ConfigError as exc:
            raise ConfigError(f"{where}.{key}: {exc}") from None
        if p.minimum is not None and v < p.minimum or p.maximum is not None and v > p.maximum:
            raise ConfigError(
                f"{where}.{key} = {v} is outside {name}'s range [{p.minimum}, {p.maximum}]"
            )
    if not low < high:
        raise ConfigError(f"{where}: expected low < high, got low={low}, high={high}")
    log = body.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}.log must be true or false, got {log!r}")
    if log and low <= 0:
        raise ConfigError(f"{where}: a log range needs low > 0, got low={low}")
    step = body.get("step")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0:
            raise ConfigError(f"{where}.step must be a positive number, got {step!r}")
        if log:
            raise ConfigError(f"{where}: step and log cannot be combined")
        if p.kind == "int" and int(step) != step:
            raise ConfigError(f"{where}.step must be an integer for {name}, got {step!r}")
    if p.kind == "int" and (int(low) != low or int(high) != high):
        raise ConfigError(f"{where}: low and high must be integers for {name}")
    return Axis(name, low=float(low), high=float(high), log=log, step=step)


def _constraint(text: Any, columns: list[str], i: int) -> Constraint:
    where = f"search.constraints[{i}]"
    match = _CONSTRAINT.match(text) if isinstance(text, str) else None
    if not match:
        raise ConfigError(f"{where} = {text!r}: expected 'column >= number' (or <=, >, <)")
    column, op, number = match.groups()
    check_known(column, columns, f"{where}: unknown table column {{key!r}}{{hint}}")
    try:
        value = float(number)
    except ValueError:
        raise ConfigError(f"{where}: {number!r} is not a number") from None
    return Constraint(column, op, value)


def _int(body: Mapping[str, Any], key: str, default: int | None, minimum: int) -> int:
    value = body.get(key, default)
    if value is None:
        raise ConfigError(f"search.{key} is required (an integer >= {minimum})")
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"search.{key} must be an integer >= {minimum}, got {value!r}")
    return value


def parse(raw: Any) -> SearchSpec:
    """Check a raw ``search:`` section; every message names the offending key."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"config section 'search' must be a mapping, got {raw!r}")
    for key in raw:
        check_known(key, KEYS, "unknown key {key!r} in search{hint}; expected one of: {expected}")
    columns = _table_columns()
    objectives = raw.get("objectives")
    if not isinstance(objectives, Mapping) or not objectives:
        raise ConfigError(
            "search.objectives must map table columns to min or max, e.g. "
            "{accuracy_mean: max, energy_J: min}"
        )
    for column, direction in objectives.items():
        check_known(column, columns, "search.objectives: unknown table column {key!r}{hint}")
        check_known(
            direction, DIRECTIONS, f"search.objectives.{column} = {{key!r}}: expected min or max"
        )
    space = raw.get("space")
    if not isinstance(space, Mapping) or not space:
        raise ConfigError("search.space must map parameter names to a list or a range")
    axes = tuple(_axis(str(name), body) for name, body in space.items())
    sampler = raw.get("sampler", "tpe")
    check_known(
        sampler,
        SAMPLERS,
        "search.sampler = {key!r} is not allowed; expected one of {choices}{hint}",
    )
    constraints = raw.get("constraints") or []
    if not isinstance(constraints, list):
        raise ConfigError(f"search.constraints must be a list of strings, got {constraints!r}")
    prune = raw.get("prune_with_ppa", False)
    if not isinstance(prune, bool):
        raise ConfigError(f"search.prune_with_ppa must be true or false, got {prune!r}")
    budget = _int(raw, "budget", None, 1)
    batch = _int(raw, "batch", min(budget, 8), 1)
    spec = SearchSpec(
        objectives={str(k): str(v) for k, v in objectives.items()},
        axes=axes,
        budget=budget,
        batch=batch,
        seed=_int(raw, "seed", 0, 0),
        sampler=str(sampler),
        constraints=tuple(_constraint(c, columns, i) for i, c in enumerate(constraints)),
        prune_with_ppa=prune,
    )
    if sampler == "nsga3" and len(spec.objectives) < 2:
        raise ConfigError("search.sampler = nsga3 needs at least two search.objectives")
    return spec


def search_schema() -> dict[str, Any]:
    """JSON schema of the ``search:`` config section (details are checked by :func:`parse`)."""
    axis = {
        "oneOf": [
            {"type": "array", "minItems": 1},
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["low", "high"],
                "properties": {
                    "low": {"type": "number"},
                    "high": {"type": "number"},
                    "log": {"type": "boolean"},
                    "step": {"type": "number", "exclusiveMinimum": 0},
                },
            },
        ]
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["objectives", "space", "budget"],
        "description": "adaptive multi-objective search instead of a full grid (docs/search.md)",
        "properties": {
            "objectives": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"enum": list(DIRECTIONS)},
                "description": "table column -> min or max",
            },
            "space": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": axis,
                "description": "parameter -> list of values or {low, high, log, step}",
            },
            "budget": {"type": "integer", "minimum": 1, "description": "distinct points, total"},
            "batch": {"type": "integer", "minimum": 1, "description": "points per round"},
            "seed": {"type": "integer", "minimum": 0},
            "sampler": {"enum": list(SAMPLERS)},
            "constraints": {
                "type": "array",
                "items": {"type": "string"},
                "description": "e.g. 'accuracy_mean >= 0.95'",
            },
            "prune_with_ppa": {
                "type": "boolean",
                "description": "compute the PPA of the whole space first and search only the "
                "points that can reach the front (docs/search.md)",
            },
        },
    }


def sweep_grid(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The raw ``grid:`` a search stands for (hook of :func:`cimsweep.workflow.config.load`)."""
    if raw.get("grid"):
        raise ConfigError(
            "config sections 'grid' and 'search' exclude each other: the search's space is the "
            "grid; move the axes of 'grid' under search.space (or drop 'search')"
        )
    spec = parse(raw["search"])
    if spec.prune_with_ppa:
        from cimsweep.search.prune import check

        check(spec, raw.get("params") or {})
    return {
        name: [list(v) if isinstance(v, tuple) else v for v in values]
        for name, values in spec.grid().items()
    }

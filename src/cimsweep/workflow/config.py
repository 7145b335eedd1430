"""Sweep configuration: key checks, JSON schema, grid expansion and per-stage result paths.

A config has three sections: ``params`` (one value per parameter, defaults from
:mod:`cimsweep.workflow.params`), ``grid`` (parameter -> list of values, the swept axes) and
``figures`` (plot options). Each stage's result path nests under its parent's and holds only
the grid axes that stage reads, so a value that only inference reads never reruns training.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cimsweep.workflow import presets
from cimsweep.workflow.checks import (
    ConfigError,
    check_combinations,
    check_device_files,
    check_inputs,
    check_value,
    suggest,
    unknown_key,
)
from cimsweep.workflow.params import (
    PARAMS,
    STAGE_PARENT,
    Value,
    canonical,
    conditional_params,
    mode_params,
    parse_token,
    stage_all_params,
    stage_own_params,
    token,
)

SECTIONS = ("params", "grid", "figures", "search")
# Always part of a path (even when not swept), so a results tree reads naturally.
PATH_KEYS = {"data": "dataset", "train": "model"}
RESULT_FILES = {
    "data": "split.npz",
    "train": "model.pt",
    "calib": "ranges.json",
    "infer": "accuracy.json",
    "ppa": "ppa.json",
}


def check_keys(raw: Mapping[str, Any]) -> None:
    """Refuse unknown section and parameter names, suggesting the closest valid name, and
    non-finite numbers or strings outside their choices (before the schema's terser check)."""
    for key in raw:
        if key not in SECTIONS:
            raise unknown_key("the config", str(key), list(SECTIONS))
    if raw.get("search") is not None:  # a search stands for the grid of its space
        from cimsweep.search.spec import sweep_grid

        raw = {**raw, "grid": sweep_grid(raw)}
    for section in ("params", "grid"):
        body = raw.get(section) or {}
        if not isinstance(body, Mapping):
            raise ConfigError(f"config section {section!r} must be a mapping of parameter names")
        for key, value in body.items():
            if key not in PARAMS:
                raise unknown_key(f"{section}", str(key), list(PARAMS))
            if section == "params" and key == "model" and isinstance(value, Mapping):
                continue  # a user model, checked by load()
            for v in value if section == "grid" and isinstance(value, list) else [value]:
                check_value(section, key, v)  # numbers finite, strings among their choices


def json_schema() -> dict[str, Any]:
    """The JSON schema of a config file, derived from the parameter declarations."""
    from cimsweep.search.spec import search_schema
    from cimsweep.workflow.figspec import figures_schema

    params = {n: {**p.json_schema(), "description": _describe(p)} for n, p in PARAMS.items()}
    params["model"] = {
        "oneOf": [
            PARAMS["model"].json_schema(),
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["module"],
                "properties": {
                    "module": {"type": "string"},
                    "kwargs": {"type": "object"},
                    "checkpoint": {"type": "string"},
                },
            },
        ],
        "description": _describe(PARAMS["model"])
        + " Or a user model: {module: 'pkg.mod:Net', kwargs: {...}, checkpoint: file}.",
    }
    grid = {
        n: {
            "type": "array",
            "minItems": 1,
            "items": p.json_schema(),
            "description": f"values swept for {n}",
        }
        for n, p in PARAMS.items()
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cimsweep sweep configuration",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "params": {"type": "object", "additionalProperties": False, "properties": params},
            "grid": {"type": "object", "additionalProperties": False, "properties": grid},
            "figures": figures_schema(),
            "search": search_schema(),
        },
    }


def _describe(p: Any) -> str:
    unit = f" [{p.unit}]" if p.unit else ""
    stages = ", ".join(sorted(p.stages)) or ("" if p.train_modes else "none (run-time setting)")
    if p.train_modes:
        stages += (", " if stages else "") + f"train (training = {' or '.join(p.train_modes)})"
    return f"{p.doc}{unit} Stages: {stages}."


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: scalar values for every parameter plus the swept axes."""

    values: dict[str, Value]
    grid: dict[str, list[Value]]
    explicit: frozenset[str] = frozenset()  # keys the config names (they override a preset)

    # ---- grid --------------------------------------------------------------------------
    def axes(self, stage: str | None = None) -> list[str]:
        """Swept parameters (all, or those a stage depends on), in declaration order."""
        names = self._all(stage) if stage else list(PARAMS)
        return [n for n in names if n in self.grid]

    # ---- which stage reads what --------------------------------------------------------
    def training_modes(self) -> list[str]:
        """The ``training`` modes this sweep uses."""
        return list(self.grid.get("training", [self.values["training"]]))

    def trained_for_axes(self) -> list[str]:
        """Grid axes some training mode of this sweep reads besides the train stage's own
        parameters (noise-aware models are trained for an ADC precision, ...)."""
        return self._trained_for_axes

    @cached_property
    def _trained_for_axes(self) -> list[str]:  # once per sweep: every path fill asks
        modes = set(self.training_modes())
        return [
            n
            for n in PARAMS
            if n in self.grid
            and modes & set(PARAMS[n].train_modes)
            and "train" not in PARAMS[n].stages
        ]

    def trained_for(self, point: Mapping[str, str]) -> str:
        """Path token naming the hardware a point's model is trained for, e.g.
        ``adc_precision=4`` (``any`` for a mode that reads none of the trained-for axes)."""
        mode = point.get("training", token("training", self.values["training"]))
        used = [n for n in self.trained_for_axes() if mode in PARAMS[n].train_modes]
        return ",".join(f"{n}={point[n]}" for n in used) or "any"

    def points(self, names: list[str] | None = None) -> list[dict[str, str]]:
        """Distinct grid points over ``names`` (default all axes), as path tokens."""
        names = self.axes() if names is None else names
        combos = itertools.product(*[[token(n, v) for v in self.grid[n]] for n in names])
        return [dict(zip(names, combo, strict=True)) for combo in combos]

    def size(self) -> int:
        """Number of full grid points (each row of the final table)."""
        return math.prod(len(v) for v in self.grid.values())

    # ---- paths -------------------------------------------------------------------------
    def _segment(self, stage: str) -> list[str]:
        key = PATH_KEYS.get(stage)
        head = [f"{{{key}}}", stage] if key else [stage]
        own = [n for n in stage_own_params(stage) if n in self.grid and n != key]
        tail = ["trained_for~{trained_for}"] if stage == "train" and self.trained_for_axes() else []
        return head + [f"{n}~{{{n}}}" for n in own] + tail

    def stage_dir(self, stage: str) -> str:
        """Wildcard directory pattern of a stage, e.g. ``{dataset}/data/{model}/train/...``."""
        if stage == "ppa":
            return "/".join(["{dataset}", "ppa", "{model}", *self._segment("ppa")[1:]])
        parts: list[str] = []
        current: str | None = stage
        while current is not None:
            parts = self._segment(current) + parts
            current = STAGE_PARENT[current]
        return "/".join(parts)

    def _all(self, stage: str) -> tuple[str, ...]:
        """Parameters a stage's path holds (PPA also depends on dataset and model)."""
        if stage == "ppa":
            return ("dataset", "model", *stage_all_params("ppa"))
        return stage_all_params(stage)

    def _nested_in_train(self, stage: str) -> bool:
        return stage in ("train", "calib", "infer") and bool(self.trained_for_axes())

    def wildcards(self, stage: str) -> list[str]:
        """Wildcard names in a stage's path pattern, in declaration order (``trained_for``,
        the compound token of the noise-aware training's hardware, last)."""
        names = self._all(stage)
        out = [n for n in PARAMS if n in names and (n in PATH_KEYS.values() or n in self.grid)]
        return out + (["trained_for"] if self._nested_in_train(stage) else [])

    def stage_values(self, stage: str, wildcards: Mapping[str, str]) -> dict[str, Value]:
        """Every parameter a stage reads, from the config overlaid with the path's grid values.

        Stages under training also get the parameters the point's training mode reads (from
        the ``trained_for`` token where swept) and drop those it does not: a float model's
        parameters (so its seed and its reruns) do not change when a sweep adds noise_aware.
        """
        out = {name: self.values[name] for name in self._all(stage)}
        for name in out.keys() & self.grid.keys() | out.keys() & set(PATH_KEYS.values()):
            text = wildcards.get(name)
            if text is not None:
                out[name] = parse_token(name, text)
        if "training" in out:
            mode = out["training"]
            trained = dict(
                item.split("=", 1)
                for item in str(wildcards.get("trained_for", "any")).split(",")
                if "=" in item
            )
            for name in mode_params(mode):
                text = trained.get(name, wildcards.get(name))
                out[name] = parse_token(name, text) if text is not None else self.values[name]
            used = set(mode_params(mode)) | set(stage_all_params(stage))
            for name in conditional_params() - used:
                out.pop(name, None)
        return presets.resolve(out, self.explicit)

    def expand(self, stage: str, filename: str | None = None, root: str = "results") -> list[str]:
        """Concrete paths of a stage's result file for every distinct grid point."""
        pattern = f"{root}/{self.stage_dir(stage)}/{filename or RESULT_FILES[stage]}"
        paths = [pattern.format(**p) for p in self.stage_points(stage)]
        return list(dict.fromkeys(paths))

    def stage_points(self, stage: str) -> list[dict[str, str]]:
        """Path tokens (every wildcard of the stage's path filled) of each combination of the
        axes the stage's path depends on; may repeat a path (several ``trained_for`` axes)."""
        swept = [n for n in self.wildcards(stage) if n in self.grid]
        if self._nested_in_train(stage):
            swept += [n for n in self.trained_for_axes() + ["training"] if n in self.grid]
        return [self._fill(p) for p in self.points(list(dict.fromkeys(swept)))]

    def fill(self, point: Mapping[str, str]) -> dict[str, str]:
        """A grid point's path tokens with the fixed path keys (and ``trained_for``) added."""
        return self._fill(point)

    @cached_property
    def _fixed_tokens(self) -> dict[str, str]:  # once per sweep: every path fill asks
        return {k: token(k, self.values[k]) for k in PATH_KEYS.values()}

    def _fill(self, point: Mapping[str, str]) -> dict[str, str]:
        out = {**self._fixed_tokens, **point}
        if self.trained_for_axes() and "trained_for" not in out:
            out["trained_for"] = self.trained_for(out)
        return out

    def result_path(self, stage: str, point: Mapping[str, str], root: str = "results") -> str:
        """Concrete result path of a stage for one grid point (path tokens by name)."""
        pattern = f"{root}/{self.stage_dir(stage)}/{RESULT_FILES[stage]}"
        return pattern.format(**self._fill(point))

    def point_values(self, point: Mapping[str, str]) -> tuple[dict[str, Value], dict[str, Value]]:
        """(inference, PPA) values of one full grid point (path tokens by name)."""
        filled = self._fill(point)
        return self.stage_values("infer", filled), self.stage_values("ppa", filled)

    def point_paths(self, root: str = "results") -> list[tuple[str, str]]:
        """(inference result, PPA result) path pair for every full grid point, in grid order."""
        infer = f"{root}/{self.stage_dir('infer')}/{RESULT_FILES['infer']}"
        ppa = f"{root}/{self.stage_dir('ppa')}/{RESULT_FILES['ppa']}"
        return [(infer.format(**self._fill(p)), ppa.format(**self._fill(p))) for p in self.points()]


USER_MODEL_KEYS = {
    "module": "user_model",
    "kwargs": "user_model_kwargs",
    "checkpoint": "user_checkpoint",
}


def user_model_params(spec: Any) -> dict[str, Any]:
    """``params.model = {module, kwargs, checkpoint}`` as the flat ``user_model*`` parameters."""
    if not isinstance(spec, Mapping):
        raise ConfigError(f"params.model must be a model name or a mapping, got {spec!r}")
    unknown = sorted(set(spec) - set(USER_MODEL_KEYS))
    if unknown or "module" not in spec:
        raise ConfigError(
            f"params.model as a mapping takes module ('package.module:Name', required), kwargs "
            f"(a mapping) and checkpoint (a state_dict file); got keys {sorted(spec)}"
        )
    kwargs = spec.get("kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"params.model.kwargs must be a mapping, got {kwargs!r}")
    return {
        "model": "user",
        "user_model": str(spec["module"]),
        "user_model_kwargs": json.dumps(dict(kwargs), sort_keys=True),
        "user_checkpoint": str(spec.get("checkpoint") or ""),
    }


def load(raw: Mapping[str, Any]) -> Sweep:
    """Check names, values and combinations of a raw config; return the :class:`Sweep`."""
    check_keys(raw)
    if raw.get("search") is not None:
        from cimsweep.search.spec import sweep_grid

        raw = {**raw, "grid": sweep_grid(raw)}
    scalars = dict(raw.get("params") or {})
    if isinstance(scalars.get("model"), Mapping):
        scalars.update(user_model_params(scalars["model"]))
    try:
        kwargs = json.loads(str(scalars.get("user_model_kwargs", "{}")))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"params.user_model_kwargs is not valid JSON ({exc})") from None
    if not isinstance(kwargs, dict):
        raise ConfigError(f"params.user_model_kwargs must be a JSON object, got {kwargs!r}")
    values: dict[str, Value] = {}
    for name, p in PARAMS.items():
        value = scalars.get(name, p.default)
        check_value("params", name, value)
        values[name] = canonical(name, value)
    grid: dict[str, list[Value]] = {}
    for name, axis in (raw.get("grid") or {}).items():
        if PARAMS[name].kind == "path" or PARAMS[name].runtime_setting:
            raise ConfigError(
                f"grid.{name}: {name} is a run-time setting or a path and cannot be a grid "
                "axis; set it once under params"
            )
        if not isinstance(axis, list) or not axis:
            raise ConfigError(f"grid.{name} must be a non-empty list of values, got {axis!r}")
        for v in axis:
            check_value("grid", name, v)
        canon = [canonical(name, v) for v in axis]
        tokens = [token(name, v) for v in canon]
        dupes = sorted({t for t in tokens if tokens.count(t) > 1})
        if dupes:
            raise ConfigError(f"grid.{name} lists {dupes} more than once; values must be unique")
        grid[name] = canon
    explicit = frozenset(raw.get("params") or {}) | frozenset(grid)
    sweep = Sweep(values=values, grid=grid, explicit=explicit - {"preset"})
    check_combinations(sweep)
    check_inputs(sweep)
    check_device_files(sweep)
    return sweep


def derive_seed(root: int, *keys: object) -> int:
    """A 31-bit seed from the root seed and any keys (stable across runs and platforms)."""
    text = "\x1f".join([str(root), *map(str, keys)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def point_key(values: Mapping[str, Value]) -> str:
    """A canonical string naming a set of parameter values (seeds derive from it)."""
    return ",".join(f"{n}={token(n, values[n])}" for n in PARAMS if n in values)


# Names other modules import from here.
_suggest = suggest
_check_value = check_value
__all__ = ["ConfigError", "Sweep", "check_keys", "derive_seed", "json_schema", "load", "point_key"]

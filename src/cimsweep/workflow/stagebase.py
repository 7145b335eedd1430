"""What each stage's typed values hold, and the base class of the generated dataclasses.

The dataclasses themselves live in :mod:`cimsweep.workflow.stages`, generated from
:data:`~cimsweep.workflow.params.PARAMS` by ``python -m cimsweep.workflow.stagegen``;
``tests/test_stages.py`` fails with that command when they are out of date.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from cimsweep.workflow.params import (
    PARAMS,
    STAGES,
    Value,
    canonical,
    conditional_params,
    mode_params,
    stage_all_params,
)

# Stages under training, whose values also hold the parameters the point's training mode reads.
TRAINED_STAGES = ("train", "calib", "infer")

S = TypeVar("S", bound="StageValues")


def stage_fields(stage: str) -> list[tuple[str, bool]]:
    """``(name, optional)`` for every value a stage's step receives, in declaration order.

    The same set :meth:`cimsweep.workflow.config.Sweep.stage_values` hands the step: the
    stage's and its ancestors' parameters (PPA also ``dataset`` and ``model``, which name its
    path), plus, under training, the parameters only some training modes read, which are
    ``None`` (optional) where the point's mode does not read them.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {', '.join(STAGES)}")
    names = set(stage_all_params(stage))
    if stage == "ppa":
        names |= {"dataset", "model"}
    optional: set[str] = set()
    if stage in TRAINED_STAGES:
        optional = set(conditional_params()) - names
    return [(n, n in optional) for n in PARAMS if n in names or n in optional]


class StageValues:
    """Base of the per-stage frozen dataclasses: built from a values mapping, back to a dict."""

    stage: ClassVar[str]

    @classmethod
    def from_values(cls: type[S], values: Mapping[str, Value]) -> S:
        """The stage's values from a mapping (e.g. ``snakemake.params.values``).

        Keys the stage does not read are ignored (steps also accept a whole config's values);
        a parameter the mapping lacks takes its declared default, or ``None`` for one the
        point's training mode does not read. Values are normalised by
        :func:`~cimsweep.workflow.params.canonical` (shapes become ``(rows, cols)`` tuples).
        """
        mode = str(values.get("training", PARAMS["training"].default))
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in values and values[f.name] is not None:
                kwargs[f.name] = canonical(f.name, values[f.name])
            elif f.name not in conditional_params() or f.name in _read_in(cls.stage, mode):
                kwargs[f.name] = canonical(f.name, PARAMS[f.name].default)
            else:
                kwargs[f.name] = None
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Value]:
        """The values as a plain dict (optional values the mode does not read left out)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not None
        }


def _read_in(stage: str, mode: str) -> set[str]:
    """Conditional parameters a stage's values hold in training mode ``mode``."""
    return set(mode_params(mode)) | set(stage_all_params(stage))

"""The :class:`Param` declaration and the stage vocabulary every parameter module uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Workflow stages, in data-flow order. A stage's result path nests under its parent's.
STAGES = ("data", "train", "calib", "infer", "ppa")
STAGE_PARENT = {"data": None, "train": "data", "calib": "train", "infer": "calib", "ppa": None}

Value = Any


@dataclass(frozen=True)
class Param:
    """Declaration of one sweep parameter.

    kind: ``int``, ``float``, ``str`` (one of ``choices``), ``shape`` (rows x cols) or ``path``
    (free text: a file, folder or ``module:Name``; never a grid axis).
    stages: the workflow stages whose result depends on this parameter.
    train_modes: ``training`` modes in which the train stage also reads it (QAT precisions,
    the noise-aware training's hardware); other modes' models do not depend on it.
    """

    name: str
    kind: str
    default: Value
    stages: frozenset[str]
    doc: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[Any, ...] = field(default=())
    train_modes: tuple[str, ...] = field(default=())

    @property
    def runtime_setting(self) -> bool:
        """True for settings no result depends on (``data_dir``, ``device``)."""
        return not self.stages and not self.train_modes

    def json_schema(self) -> dict[str, Any]:
        """JSON-schema fragment accepting one value of this parameter."""
        if self.kind == "str":
            return {"type": "string", "enum": list(self.choices)}
        if self.kind == "path":
            return {"type": "string"}
        if self.kind == "shape":
            return {
                "oneOf": [
                    {"type": "integer", "minimum": 1},
                    {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 1},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                ]
            }
        schema: dict[str, Any] = {"type": "integer" if self.kind == "int" else "number"}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.minimum is not None:
            key = "exclusiveMinimum" if self.exclusive_minimum else "minimum"
            schema[key] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


# Training modes (the ``training`` parameter) and the parameters of other stages each reads.
TRAINING_MODES = ("float", "qat", "noise_aware")
QAT_MODES = ("qat", "noise_aware")
NOISE_AWARE_MODES = ("noise_aware",)


def declare(name: str, kind: str, default: Value, stages: str, doc: str, **kw: Any) -> Param:
    """One :class:`Param`; ``stages`` is a space-separated list of stage names."""
    return Param(name, kind, default, frozenset(stages.split()), doc, **kw)


SIM = "infer"
HW = "infer ppa"
QUANT = "calib infer ppa"

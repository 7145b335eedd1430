"""Torch-free counting rules shared by the simulator (:mod:`cimsweep.cim`) and the PPA model.

Both must agree on how many cells hold one weight, how many input cycles one MVM takes and
which layers stay digital, so these live here once; importing this module does not import
torch (PPA jobs stay light).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

DIGITAL_CHOICES = ("none", "first", "last", "first_last")


def n_weight_slices(weight_precision: int, bitcell: int, signed_mapping: str) -> int:
    """Cells per weight and array: magnitude bits (differential) or code bits (offset) / bitcell.

    differential: the sign selects the positive or negative array, so each array stores the
    ``weight_precision - 1`` magnitude bits; offset: the unsigned code has ``weight_precision``
    bits.
    """
    bits = weight_precision - 1 if signed_mapping == "differential" else weight_precision
    return max(1, math.ceil(bits / bitcell))


def column_tiles(cols: int, sub_cols: int, n_w: int, signed_mapping: str) -> tuple[int, int]:
    """(outputs per subarray, subarrays across the columns) of a layer with ``cols`` outputs.

    Weights are placed whole: a subarray row holds ``sub_cols // (2 * n_w)`` differential
    pairs (positive and negative cells side by side) or ``sub_cols // n_w`` offset-mapped
    weights, one of which is the tile's reference column group (so offset mapping needs
    ``sub_cols >= 2 * n_w``). A differential pair wider than a subarray spans
    ``2 * n_w / sub_cols`` subarrays.
    """
    if signed_mapping == "differential":
        per = sub_cols // (2 * n_w)
        if per == 0:
            return 1, math.ceil(2 * n_w * cols / sub_cols)
        return per, math.ceil(cols / per)
    per = sub_cols // n_w - 1
    if per < 1:
        raise ValueError(
            f"offset mapping needs sub_array cols >= 2 * weight slices = {2 * n_w}, got {sub_cols}"
        )
    return per, math.ceil(cols / per)


def crossbar_columns(cols: int, sub_cols: int, n_w: int, signed_mapping: str) -> int:
    """Physical crossbar columns of a layer: ``2 * cols * n_w`` (differential) or
    ``(cols + column tiles) * n_w`` (offset: one reference column group per tile)."""
    if signed_mapping == "differential":
        return 2 * cols * n_w
    return (cols + column_tiles(cols, sub_cols, n_w, signed_mapping)[1]) * n_w


CHIP_PEAK_FACTOR = 2.6  # programming peak / programmed chip (VGG8, bench_infer: 1.6 / 0.7 GB
# including the uint8 target levels)


def chip_memory_mb(
    model_bytes: int, weight_precision: int, bitcell: int, signed_mapping: str
) -> float:
    """Peak memory (MB) of programming one chip of a model whose float32 checkpoint has
    ``model_bytes``: every weight becomes ``n_w`` (offset) or ``2 * n_w`` (differential)
    float32 cells, and programming holds about :data:`CHIP_PEAK_FACTOR` times that."""
    cells = n_weight_slices(weight_precision, bitcell, signed_mapping)
    cells *= 2 if signed_mapping == "differential" else 1
    return CHIP_PEAK_FACTOR * cells * model_bytes / 2**20


def n_input_slices(input_precision: int, dac_precision: int) -> int:
    """Input cycles per MVM: ceil(input bits / DAC bits)."""
    return math.ceil(input_precision / max(1, min(dac_precision, input_precision)))


def digital_names(layer_names: Sequence[str], digital: str | Iterable[str]) -> frozenset[str]:
    """Names among ``layer_names`` (mapped layers, model order) kept digital.

    ``digital`` is ``"none"``, ``"first"``, ``"last"``, ``"first_last"`` or an iterable of
    those keywords and/or qualified layer names; unknown names raise ValueError.
    """
    names = list(layer_names)
    items = [digital] if isinstance(digital, str) else list(digital)
    out: set[str] = set()
    for item in items:
        if item in ("none", ""):
            continue
        if item in ("first", "first_last") and names:
            out.add(names[0])
        if item in ("last", "first_last") and names:
            out.add(names[-1])
        if item not in DIGITAL_CHOICES:
            if item not in names:
                raise ValueError(
                    f"digital layer {item!r} is not a Conv2d/Linear of the model; expected "
                    f"{DIGITAL_CHOICES} or one of {names}"
                )
            out.add(item)
    return frozenset(out)

"""Torch-free counting rules shared by the simulator (:mod:`cimsweep.cim`) and the PPA model.

Both must agree on how many cells hold one weight, how many input cycles one MVM takes and
which layers stay digital, so these live here once; importing this module does not import
torch (PPA jobs stay light). Signed mappings are registered in :mod:`cimsweep.signed_mapping`;
the functions here take the mapping's name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from cimsweep.signed_mapping import signed_mapping as lookup

DIGITAL_CHOICES = ("none", "first", "last", "first_last")


def n_weight_slices(weight_precision: int, bitcell: int, signed_mapping: str) -> int:
    """Cells per weight and cell column: code bits / bitcell, rounded up
    (:meth:`.SignedMapping.n_weight_slices`; differential: the ``weight_precision - 1``
    magnitude bits, offset: the ``weight_precision`` code bits)."""
    return lookup(signed_mapping).n_weight_slices(weight_precision, bitcell)


def column_tiles(
    cols: int, sub_cols: int, n_w: int, signed_mapping: str, offset_reference: str = "tile"
) -> tuple[int, int]:
    """(outputs per subarray, subarrays across the columns) of a layer with ``cols`` outputs.

    Weights are placed whole (:meth:`.SignedMapping.column_tiles`): a subarray row holds
    ``sub_cols // (2 * n_w)`` differential pairs (positive and negative cells side by side)
    or ``sub_cols // n_w`` offset-mapped weights; with ``offset_reference = tile`` one of
    them is the tile's reference column group (so it needs ``sub_cols >= 2 * n_w``), with
    ``layer`` the layer's one dummy group follows its last weight. A differential pair wider
    than a subarray spans ``2 * n_w / sub_cols`` subarrays.
    """
    return lookup(signed_mapping, offset_reference).column_tiles(cols, sub_cols, n_w)


def crossbar_columns(
    cols: int, sub_cols: int, n_w: int, signed_mapping: str, offset_reference: str = "tile"
) -> int:
    """Physical crossbar columns of a layer: ``2 * cols * n_w`` (differential),
    ``(cols + column tiles) * n_w`` (offset, a reference group per tile) or ``(cols + 1) * n_w``
    (offset, one dummy group per layer)."""
    return lookup(signed_mapping, offset_reference).crossbar_columns(cols, sub_cols, n_w)


CHIP_PEAK_FACTOR = 2.6  # programming peak / programmed chip (VGG8, bench_infer: 1.6 / 0.7 GB
# including the uint8 target levels)


def chip_memory_mb(
    model_bytes: int, weight_precision: int, bitcell: int, signed_mapping: str
) -> float:
    """Peak memory (MB) of programming one chip of a model whose float32 checkpoint has
    ``model_bytes``: every weight becomes ``arrays * n_w`` float32 cells (offset: ``n_w``,
    differential: ``2 * n_w``), and programming holds about :data:`CHIP_PEAK_FACTOR` times
    that."""
    mapping = lookup(signed_mapping)
    cells = mapping.n_weight_slices(weight_precision, bitcell) * mapping.arrays
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

"""Signed weight mappings, looked up by the ``signed_mapping`` parameter.

A mapping stores a signed integer weight code ``q`` (``weight_precision`` bits with sign) in
non-negative cell codes and recovers ``q`` from the physical column sums. Each mapping is one
subclass of :class:`SignedMapping` with a ``name`` (registered on definition,
:class:`cimsweep.registry.Registered`); it owns both

* its layout facts, torch-free (the PPA model uses them through :mod:`cimsweep.layout`):
  cell columns per weight (:attr:`~SignedMapping.arrays`), code bits, weights per subarray,
  reference columns; and
* its cell mapping, on torch tensors (the simulator, :class:`cimsweep.cim.mapping.CrossbarMap`):
  the cell codes of a weight matrix (:meth:`~SignedMapping.codes`) and the logical outputs of
  the physical column sums (:meth:`~SignedMapping.combine`).

Importing this module does not import torch; the tensor methods receive tensors.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

from cimsweep.registry import Registered

if TYPE_CHECKING:
    import torch

REFERENCES = ("tile", "layer", "digital")  # the offset_reference choices of the offset mapping


class SignedMapping(Registered):
    """How a signed weight is stored; subclasses set ``name`` and the class facts below.

    ``reference`` is the ``offset_reference`` parameter (one of :data:`REFERENCES`): where a
    mapping with a reference column puts it; mappings without one ignore it.
    """

    registry: ClassVar[dict[str, type[Any]]] = {}
    arrays: ClassVar[int] = 1
    """Cell columns per weight and slice, reference columns aside (a differential pair: 2)."""

    def __init__(self, reference: str = "tile") -> None:
        if reference not in REFERENCES:
            expected = ", ".join(REFERENCES)
            raise ValueError(f"unknown offset_reference {reference!r}; expected one of {expected}")
        self.reference = reference

    # --- layout facts (torch-free) ---------------------------------------------------------

    def code_bits(self, weight_precision: int) -> int:
        """Bits of the non-negative code each cell column stores (sliced by ``bitcell``)."""
        raise NotImplementedError

    def n_weight_slices(self, weight_precision: int, bitcell: int) -> int:
        """Cells per weight and cell column: ``ceil(code bits / bitcell)``, at least 1."""
        return max(1, math.ceil(self.code_bits(weight_precision) / bitcell))

    def column_tiles(self, cols: int, sub_cols: int, n_w: int) -> tuple[int, int]:
        """(outputs per subarray, subarrays across the columns) of ``cols`` outputs.

        Default: weights placed whole, ``sub_cols // (arrays * n_w)`` per subarray row (the
        cells of one weight side by side); a weight wider than a subarray spans
        ``arrays * n_w / sub_cols`` subarrays.
        """
        per = sub_cols // (self.arrays * n_w)
        if per == 0:
            return 1, math.ceil(self.arrays * n_w * cols / sub_cols)
        return per, math.ceil(cols / per)

    def reference_columns(self, col_tiles: int) -> int:
        """Reference columns per weight slice of a layer spread over ``col_tiles`` subarrays."""
        return 0

    def phys_cols(self, cols: int, col_tiles: int) -> int:
        """Physical columns per weight slice: ``arrays * cols`` plus the reference columns."""
        return self.arrays * cols + self.reference_columns(col_tiles)

    def crossbar_columns(self, cols: int, sub_cols: int, n_w: int) -> int:
        """Physical crossbar columns of a layer, every weight slice and reference included."""
        return self.phys_cols(cols, self.column_tiles(cols, sub_cols, n_w)[1]) * n_w

    @property
    def layer_reference(self) -> bool:
        """Whether the layer has one reference column in all (NeuroSim V1.5's dummy column)."""
        return False

    @property
    def read_columns_per_output(self) -> int:
        """Columns read through an ADC per logical output and weight slice (the output's own
        and its negative or reference column: 2; a digitally removed offset: 1)."""
        return 2

    def digital_offset(self, weight_precision: int) -> int:
        """The code subtracted digitally per unit input (0 unless :attr:`digital_reference`)."""
        return 0

    # --- cell mapping (torch tensors) ------------------------------------------------------

    def codes(self, q: torch.Tensor, weight_precision: int) -> tuple[torch.Tensor, int]:
        """Non-negative cell codes (rows, arrays * cols), int32, of the integer weight codes
        ``q`` (rows, cols), int32, and the code every reference column stores (0: none)."""
        raise NotImplementedError

    def combine(self, phys: torch.Tensor, cols: int, cols_per_tile: int) -> torch.Tensor:
        """Logical outputs (..., cols) from physical column sums (..., phys_cols)."""
        raise NotImplementedError


def signed_mapping(name: str, reference: str = "tile") -> SignedMapping:
    """The registered mapping ``name`` with reference placement ``reference`` (ValueError
    naming the known mappings otherwise)."""
    if name not in SignedMapping.registry:
        known = ", ".join(SignedMapping.names())
        raise ValueError(f"unknown signed_mapping {name!r}; known: {known}")
    cls: type[SignedMapping] = SignedMapping.lookup(name)
    return cls(reference)


class Differential(SignedMapping):
    """A positive and a negative cell column per weight: ``q > 0`` in the first, ``-q`` for
    ``q < 0`` in the second; each stores the ``weight_precision - 1`` magnitude bits and the
    output is positive - negative. A pair's cells share a subarray."""

    name = "differential"
    arrays = 2

    def code_bits(self, weight_precision: int) -> int:
        return weight_precision - 1

    def codes(self, q: torch.Tensor, weight_precision: int) -> tuple[torch.Tensor, int]:
        import torch

        return torch.cat([q.clamp(min=0), (-q).clamp(min=0)], dim=1), 0

    def combine(self, phys: torch.Tensor, cols: int, cols_per_tile: int) -> torch.Tensor:
        return phys[..., :cols] - phys[..., cols:]


class Offset(SignedMapping):
    """Unsigned codes ``u = q + s`` in one cell column per weight, ``weight_precision`` bits,
    and reference columns storing ``s``; output = column - its reference column.

    ``reference = tile``: ``s = 2**(weight_precision - 1)``, one reference column group per
    subarray (it takes one weight's place, so ``sub_cols >= 2 * n_w``). ``layer`` (NeuroSim
    V1.5): ``s = max(0, -min(q))`` of the layer, one dummy column group per layer after its
    last weight: ``sub_cols // n_w`` weights fill a subarray, as in NeuroSim's C++
    (``numColPerSynapse`` columns per weight, no reference in the array), and the dummy group
    takes a further column tile only where the last one is full. ``digital`` (ISAAC's bias,
    Shafiee et al. ISCA 2016): ``s = 2**(weight_precision - 1)`` and no reference column; the
    engine subtracts ``s`` times the input sum (and the cells' nominal off-state baseline)
    after the ADC, so ``sub_cols // n_w`` weights fill a subarray: NeuroSim V1.4's C++ layout.
    Unlike a reference column, the digital offset neither drifts nor picks up read noise.
    """

    name = "offset"

    def code_bits(self, weight_precision: int) -> int:
        return weight_precision

    def column_tiles(self, cols: int, sub_cols: int, n_w: int) -> tuple[int, int]:
        if self.reference != "tile":
            per = sub_cols // n_w
            if per < 1:
                raise ValueError(
                    f"offset mapping with offset_reference = {self.reference} needs sub_array "
                    f"cols >= weight slices = {n_w}, got {sub_cols}"
                )
            if self.digital_reference:
                return per, math.ceil(cols / per)
            return per, math.ceil((cols + 1) / per)  # the dummy group after the last weight
        per = sub_cols // n_w - 1
        if per < 1:
            raise ValueError(
                f"offset mapping needs sub_array cols >= 2 * weight slices = {2 * n_w}, "
                f"got {sub_cols}"
            )
        return per, math.ceil(cols / per)

    def reference_columns(self, col_tiles: int) -> int:
        if self.digital_reference:
            return 0
        return 1 if self.layer_reference else col_tiles

    @property
    def layer_reference(self) -> bool:
        return self.reference == "layer"

    @property
    def digital_reference(self) -> bool:
        """Whether the stored offset is removed digitally (no reference column is read)."""
        return self.reference == "digital"

    @property
    def read_columns_per_output(self) -> int:
        return 1 if self.digital_reference else 2

    def digital_offset(self, weight_precision: int) -> int:
        return 2 ** (weight_precision - 1) if self.digital_reference else 0

    def codes(self, q: torch.Tensor, weight_precision: int) -> tuple[torch.Tensor, int]:
        if self.layer_reference:  # shift >= 0: an all-positive layer is stored as it is
            offset = max(0, -int(q.min())) if q.numel() else 0
        else:
            offset = 2 ** (weight_precision - 1)
        return q + offset, offset

    def combine(self, phys: torch.Tensor, cols: int, cols_per_tile: int) -> torch.Tensor:
        main = phys[..., :cols]
        if self.digital_reference:  # the caller subtracts digital_offset x the input sum
            return main
        if self.layer_reference:
            return main - phys[..., cols:]
        import torch

        tile = torch.arange(cols, device=phys.device) // cols_per_tile
        return main - phys[..., cols + tile]

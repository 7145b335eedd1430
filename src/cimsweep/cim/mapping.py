"""Mapping of one layer's integer weight matrix onto crossbar subarrays.

A layer is a ``rows x cols`` matrix (Linear: ``in x out``; Conv2d: im2col, ``k_h*k_w*C_in x
C_out``). Rows are split into subarray row tiles of ``sub_array[0]`` rows, each tile into read
groups of ``parallel_read`` rows (0 = the whole tile); every read group of every physical
column is one ADC conversion per input slice.

Weights (signed integer codes, ``weight_precision`` bits with sign) become cell levels of
``bitcell`` bits, least significant slice first, by the registered signed mapping
(:mod:`cimsweep.signed_mapping`: ``differential``, a positive and a negative cell column per
weight; ``offset``, one unsigned column per weight and reference columns, per subarray or, with
``offset_reference = layer`` as in NeuroSim V1.5, one per layer, or none with ``digital``).
The mapping owns the layout facts (weight slices, physical columns, weights per subarray,
shared with the PPA model through :mod:`cimsweep.layout`) and the cell codes; this module
slices codes into cell levels and places them in read groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F
from torch import nn

from cimsweep.cim import kernel
from cimsweep.layout import n_weight_slices
from cimsweep.nn.models import layer_weight
from cimsweep.signed_mapping import SignedMapping, signed_mapping

__all__ = ["CrossbarMap", "im2col", "n_weight_slices", "weight_matrix"]


@dataclass(frozen=True)
class CrossbarMap:
    """Placement of a ``rows x cols`` signed weight matrix on ``sub_rows x sub_cols`` arrays."""

    rows: int
    cols: int
    sub_rows: int
    sub_cols: int
    parallel_read: int
    bitcell: int
    weight_precision: int
    signed_mapping: str
    offset_reference: str = "tile"

    def __post_init__(self) -> None:
        self.mapping.column_tiles(self.cols, self.sub_cols, self.n_w)  # validates

    @cached_property
    def mapping(self) -> SignedMapping:
        """The registered signed mapping (ValueError for an unknown name or reference)."""
        return signed_mapping(self.signed_mapping, self.offset_reference)

    @property
    def n_w(self) -> int:
        """Weight slices (cells per weight and cell column)."""
        return self.mapping.n_weight_slices(self.weight_precision, self.bitcell)

    @property
    def levels(self) -> int:
        """Levels per cell, ``2**bitcell``."""
        return 2**self.bitcell

    @property
    def read_rows(self) -> int:
        """Rows activated per ADC read."""
        p = self.parallel_read
        return self.sub_rows if p <= 0 else min(p, self.sub_rows)

    @property
    def row_tiles(self) -> int:
        return math.ceil(self.rows / self.sub_rows)

    @property
    def cols_per_tile(self) -> int:
        """Logical output columns per subarray (offset: reference columns reserved)."""
        return self.mapping.column_tiles(self.cols, self.sub_cols, self.n_w)[0]

    @property
    def col_tiles(self) -> int:
        """Subarrays across the columns (:meth:`.SignedMapping.column_tiles`)."""
        return self.mapping.column_tiles(self.cols, self.sub_cols, self.n_w)[1]

    @property
    def subarrays(self) -> int:
        """Subarrays used (a differential pair's cells share a subarray)."""
        return self.row_tiles * self.col_tiles

    @property
    def phys_cols(self) -> int:
        """Physical columns per weight slice, including negative / reference columns."""
        return self.mapping.phys_cols(self.cols, self.col_tiles)

    @property
    def layer_reference(self) -> bool:
        """One dummy reference column per layer (offset mapping, NeuroSim V1.5)."""
        return self.mapping.layer_reference

    @property
    def digital_offset(self) -> int:
        """Weight code offset removed digitally, times each input's code (0: none)."""
        return self.mapping.digital_offset(self.weight_precision)

    def digital_offset_units(self, baseline: float) -> float:
        """What one unit of input adds to every digitally offset output's shift-added column
        sum besides its weight (unit products): the offset code plus the cells' off-state
        ``baseline`` (unit levels) in each of the ``n_w`` slices, ``sum_k levels**k``."""
        if not self.digital_offset:
            return 0.0
        return self.digital_offset + baseline * float(self.slice_weights().sum())

    @cached_property
    def groups(self) -> list[tuple[int, int]]:
        """(first row, rows) of every read group, tile by tile."""
        out: list[tuple[int, int]] = []
        for t0 in range(0, self.rows, self.sub_rows):
            t1 = min(t0 + self.sub_rows, self.rows)
            out.extend((r, min(self.read_rows, t1 - r)) for r in range(t0, t1, self.read_rows))
        return out

    @cached_property
    def buckets(self) -> list[tuple[int, list[int]]]:
        """Read groups batched by size: [(rows per group, [group indices])]."""
        sizes: dict[int, list[int]] = {}
        for i, (_, n) in enumerate(self.groups):
            sizes.setdefault(n, []).append(i)
        return sorted(sizes.items(), reverse=True)

    def bucket_rows(self, indices: list[int], device: torch.device | str) -> torch.Tensor:
        """Row indices (G_b, p_b) of the read groups ``indices`` (all of one size)."""
        return torch.stack(
            [
                torch.arange(self.groups[i][0], self.groups[i][0] + self.groups[i][1])
                for i in indices
            ]
        ).to(device)

    def encode(self, q_w: torch.Tensor) -> torch.Tensor:
        """Cell levels (n_w, rows, phys_cols), uint8, of integer weight codes (rows, cols)."""
        base = self.levels
        pw = base ** torch.arange(self.n_w, device=q_w.device, dtype=torch.int32)
        q = q_w.round().to(torch.int32)
        codes, ref_code = self.mapping.codes(q, self.weight_precision)
        digits = torch.div(codes[None], pw[:, None, None], rounding_mode="floor").remainder_(base)
        n_ref = self.mapping.reference_columns(self.col_tiles)
        if n_ref:
            ref = torch.div(ref_code, pw, rounding_mode="floor").remainder_(base)
            ref = ref[:, None, None].expand(self.n_w, self.rows, n_ref)
            digits = torch.cat([digits, ref], dim=2)
        return digits.to(torch.uint8)

    def slice_weights(self) -> torch.Tensor:
        """Shift-add weight ``levels**k`` of slice k (float64, length n_w)."""
        return float(self.levels) ** torch.arange(self.n_w, dtype=torch.float64)

    def combine(self, phys: torch.Tensor) -> torch.Tensor:
        """Logical outputs (..., cols) from physical column sums (..., phys_cols)."""
        return self.mapping.combine(phys, self.cols, self.cols_per_tile)

    def signed_matrix(self, levels: torch.Tensor) -> torch.Tensor:
        """Effective integer weights (rows, cols) of cell levels (n_w, rows, phys_cols)."""
        levels = levels if levels.is_floating_point() else levels.float()
        sw = self.slice_weights().to(levels.device, levels.dtype)
        return self.combine(torch.einsum("k,krp->rp", sw, levels)) - self.digital_offset


def weight_matrix(module: nn.Module) -> torch.Tensor:
    """The (rows, cols) matrix a Linear or Conv2d applies (conv: im2col row order)."""
    w = layer_weight(module).detach()
    if isinstance(module, nn.Conv2d):
        if module.groups != 1:
            raise ValueError("grouped convolutions are not supported by the CIM mapping")
        return w.reshape(w.shape[0], -1).t()
    return w.t()


def im2col(
    x: torch.Tensor, conv: nn.Conv2d, pad_value: float = 0.0
) -> tuple[torch.Tensor, tuple[int, int]]:
    """(N * H_out * W_out, C_in*k_h*k_w) patches of ``x`` (padded with ``pad_value``) and
    (H_out, W_out); columns in ``F.unfold`` order (:func:`.kernel.im2col`)."""
    if conv.padding_mode != "zeros":
        raise ValueError("only zero-padded convolutions are supported")
    _, _, h, w = x.shape
    kh, kw = conv.kernel_size
    (sh, sw), (dh, dw) = conv.stride, conv.dilation
    if isinstance(conv.padding, str):
        raise ValueError("string padding is not supported; use integers")
    ph, pw = conv.padding
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp = F.pad(x, (pw, pw, ph, ph), value=pad_value).contiguous()
    return kernel.im2col(xp, (kh, kw), (sh, sw), (dh, dw), (ho, wo)), (ho, wo)

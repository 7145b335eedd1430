"""Read strategy of a bucket of read groups, and the dense read (batched matmul + compiled pass).

Two CPU strategies:

- ``sparse``: :func:`.kernel.read` sums, for every read, the cell weights of its nonzero DAC
  slice values (adds only for 1-bit slices) in its own loops, then noise, ADC and shift-adds;
- ``dense``: the DAC slices of a chunk times its integer cell levels in one ``torch.bmm``
  (BLAS, float32), then :func:`.kernel.read_sums` runs the same noise, ADC and shift-adds over
  those partial sums (same noise stream order).

BLAS adds in its own order (and may fuse multiply-adds), so ``dense`` is only used where the
cells are integer levels plus one common off-state baseline and every partial sum of the levels
is an integer below ``2**24`` (:func:`exact_levels`); those sums are exact in any order. With no
baseline (``off_current: subtract``, or an infinite on/off ratio) the numbers are bit for bit
the sparse kernel's; with one, the baseline's share ``baseline * sum x`` is added once per read
after the exact integer sum instead of cell by cell (so the read differs from the sparse
kernel's float32 running sum by rounding only, and a read at an ADC threshold may round the
other way): that is used only when asked for (``read_strategy = "dense"``), since BLAS gains
only about 5 % there.

A third one, ``bits``, serves 1-bit DAC slices on integer levels (1-bit cells above all): each
partial sum is the popcount of the slice's bits with the levels' bit-planes, an exact integer
(:func:`.kernel.bit_sums`), then the same compiled pass. Without a baseline these are the
sparse kernel's numbers; with one, its share is added once per read, as for ``dense``, and
the read differs from the sparse kernel's running sum by rounding only. It is chosen by itself
where it measured faster (:data:`BITS_MIN_ROWS`), baseline or not: a running float32 sum of
``1 + baseline`` and ``baseline`` cell by cell is no more exact than the integer sum plus the
baseline's share rounded once, so neither is the one true number, and the integer sum is
cheaper.

Cells that are not integer levels (programming noise, drift, measured levels) have no exact
partial sums in float32 on either path: the sparse kernel adds them in row order, BLAS in its
own (blocked, fused multiply-add) order, so the two differ by float32 rounding and a read that
lands on an ADC threshold may round the other way. There BLAS takes the partial sums where it
measured faster (:data:`FLOAT_DENSE_MIN`, a float :class:`Dense` plan); the numbers are
still deterministic (same settings, chip and thread count: the same outputs; torch's sgemm
splits rows and columns over its threads, never the sum, which the tests check).

The choice (:func:`plan`, :func:`choose`) is a pure function of the layer settings and the
chip's cells, never of timings; the crossovers (:data:`DENSE_MIN_ROWS`,
:data:`FLOAT_DENSE_MIN`) were measured with ``benchmarks/bench_read_matrix.py``.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from cimsweep.cim import kernel

EXACT_LIMIT = 2.0**24  # float32 holds every integer below it
# crossover, measured with benchmarks/bench_read_matrix.py (256 settings, 2-core AMD EPYC, one
# thread, random 8-bit codes half zero): median sparse / dense time 0.47-0.56 for 1-bit slices,
# 0.59-0.83 for 2-bit, 0.61-0.95 for 4-bit, 0.62-0.93 for 8-bit slices up to 256 rows and 1.12
# for 8-bit slices of 512-row reads. BLAS wins only from (slice bits, rows per read) on:
DENSE_MIN_ROWS = ((8, 512),)  # (bits, rows), widest slices first; narrower slices stay sparse
# Cells that are not integer levels (float BLAS partial sums, rounding-level differences):
# measured 2026-12-02 with ``bench_read_matrix.py --cells programmed --reps 3`` (cols 64, all
# DAC precisions) and ``--cols 512 --dacs 2,4,8`` (2-core AMD EPYC, one thread, load average
# 3-7): median sparse / dense time by slice bits, rows per read and partial sums per read N
# (weight slices x physical columns): 1-bit slices 0.38-0.73 everywhere (sparse adds win);
# 2-bit 1.06-1.13 from 256 rows at N >= 896, 1.17-2.87 at 512 rows, below 1 elsewhere;
# 4-bit 1.06-1.67 from 256 rows at N >= 512, 1.05-1.50 at 128 rows and N >= 1024; 8-bit
# 1.05-4.38 at 512 rows, 1.15-1.74 at 256 rows and N >= 512, 1.04-1.36 at 128 rows and
# N >= 896; 0.75-1.15 (noise-level) below. BLAS from (slice bits, ((rows, N), ...)) on:
# 1-bit DAC slices on integer cell levels (with or without the off-state baseline) are summed
# by popcount of the levels' bit-planes (exact integers; the baseline's share added once per
# read) from (bit-planes at most, rows per read at least) on. Measured 2026-12-03 with
# ``bench_read_matrix.py --cells levels --dacs 1 --reps 3 --no-memory`` (cols 64, codes 25 %
# ones per bit slice; 2-core Intel Xeon VM, AVX-512 VPOPCNTDQ, one thread), the popcount
# kernel summing each column's planes in registers: time / floor sparse vs bits, 1-bit cells,
# reads of 128 / 256 / 512 rows: 0.90 / 0.87 / 0.90 vs 0.87 / 0.83 / 0.73 noise-free, 1.30 /
# 1.23 / 0.93 vs 1.24 / 1.14 / 0.92 noisy; 64 rows 0.64 vs 0.73, 32-row reads 1.13-1.51 vs
# 1.78-2.19 (sparse wins); 2-7-bit cells lose everywhere (1.08-6.36 vs 0.74-3.46). On one
# Linear 512 -> 512 layer (NeuroSim bench's bit-serial setting: 128-row reads, 7168 columns,
# 44 % ones) the popcount reads took 0.85-0.89 s against the sparse kernel's 1.35-1.40 s.
BITS_MIN_ROWS = ((1, 128),)
FLOAT_DENSE_MIN = (
    (8, ((512, 0), (256, 512), (128, 896))),
    (4, ((256, 512), (128, 1024))),
    (2, ((256, 896),)),
)  # widest slices first; 1-bit slices stay sparse


def exact_levels(weights: torch.Tensor, dac: int, baseline: float = 0.0) -> torch.Tensor | None:
    """Integer cell levels ``L`` of cell weights (G, P, N) (unit products) that are exactly
    ``float32(L + baseline)``, when every partial sum of ``L`` with ``dac``-bit slices is an
    integer below ``2**24`` whatever the summation order; else None."""
    if weights.numel() == 0:
        return weights
    levels = torch.round(weights - baseline) if baseline else weights
    if baseline and not torch.equal(levels + baseline, weights):
        return None
    if baseline == 0 and not torch.equal(levels, torch.round(levels)):
        return None
    rows = weights.shape[1]
    if rows * (2**dac - 1) * float(levels.abs().max()) >= EXACT_LIMIT:
        return None
    return levels


def strategy(rows: int, dac: int, exact: bool, sums: int = 0) -> str:
    """``dense`` or ``sparse`` reads of ``rows``-row reads with ``dac``-bit slices and ``sums``
    partial sums per read (weight slices x physical columns); ``exact``: the chip's cells have
    :func:`exact_levels` (:data:`DENSE_MIN_ROWS`), else :data:`FLOAT_DENSE_MIN`."""
    if exact:
        for bits, min_rows in DENSE_MIN_ROWS:
            if dac >= bits:
                return "dense" if rows >= min_rows else "sparse"
        return "sparse"
    for bits, corners in FLOAT_DENSE_MIN:
        if dac >= bits:
            return "dense" if any(rows >= r and sums >= n for r, n in corners) else "sparse"
    return "sparse"


def choose(
    rows: int, dac: int, weights: torch.Tensor, baseline: float = 0.0, force: str | None = None
) -> torch.Tensor | None:
    """The integer levels of a bucket's cell weights (G, P, N) for ``dense`` reads, or None for
    ``sparse`` ones (:func:`strategy`; levels checked only where ``dense`` could win). Chosen
    on its own only where the numbers are the sparse kernel's (no ``baseline``); ``force``
    (``sparse`` / ``dense``: benchmarks, tests) overrides that and the measured crossover,
    never the exactness guard."""
    if force not in (None, "sparse", "dense"):
        raise ValueError(f"read strategy {force!r}: expected None, 'sparse' or 'dense'")
    if force == "sparse" or (force is None and strategy(rows, dac, True) == "sparse"):
        return None
    if force is None and baseline:  # not the sparse kernel's numbers: only when asked for
        return None
    return exact_levels(weights, dac, baseline)


# exact levels (and their bit-planes) of a chip's bucket weights, per live tensor (a chip's
# cells are fixed once programmed; the tensor's version counter catches in-place changes; an
# entry goes with its tensor): (id, what) -> (version, value; True: the tensor itself)
_CACHE: dict[tuple[int, tuple], tuple[int, Any]] = {}


def _cached(weights: torch.Tensor, what: tuple, fn: Callable[[], Any]) -> Any:
    """``fn()``, computed once per weight tensor (and version) and ``what``."""
    key = (id(weights), what)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == weights._version:
        return weights if hit[1] is True else hit[1]
    value = fn()
    if hit is None:
        weakref.finalize(weights, _CACHE.pop, key, None)
    _CACHE[key] = (weights._version, True if value is weights else value)
    return value


def _levels(weights: torch.Tensor, dac: int, baseline: float) -> torch.Tensor | None:
    """:func:`exact_levels`, computed once per weight tensor, DAC width and baseline."""
    return _cached(weights, ("levels", dac, baseline), lambda: exact_levels(weights, dac, baseline))


def _binary(weights: torch.Tensor) -> tuple[torch.Tensor, float, float] | None:
    """(bits, f0, f1) of float32 CPU cell weights (G, P, N) that take at most two float32
    values, the smaller ``f0`` and the larger ``f1`` (bitwise: same sign of zero), else None
    (also without the compiled kernel): ``bits`` (G, P, ceil(N / 16)) int16 words, bit
    ``n % 16`` of word ``n // 16`` set where the cell is ``f1`` (:func:`.kernel.read`'s
    ``binary``; packed by ``cim_pack_binary``)."""
    ok = weights.dtype == torch.float32 and weights.is_contiguous() and weights.dim() == 3
    if not ok or weights.numel() == 0 or not kernel.fused(weights.device):
        return None
    if torch.unique(weights.view(-1)[:4096]).numel() > 2:  # cheap refusal: noisy cells
        return None
    lo, hi = float(weights.min()), float(weights.max())  # float32 values, exactly
    g, p, n = weights.shape
    bits = torch.empty(g, p, -(-n // 16), dtype=torch.int16)
    if kernel.loaded().cim_pack_binary(weights.data_ptr(), g * p, n, lo, hi, bits.data_ptr()):
        return None
    return bits, lo, hi


def binary_cells(weights: torch.Tensor) -> tuple[torch.Tensor, float, float] | None:
    """:func:`_binary` of a bucket's cell weights, once per weight tensor (and version): the
    sparse kernel then reads two-valued cells (1-bit cells, integer levels plus or without
    the off-state baseline) from their bits, with the same numbers."""
    return _cached(weights, ("binary",), lambda: _binary(weights))


@dataclass(frozen=True)
class Dense:
    """A bucket's cells read by BLAS (:func:`plan`): ``matrix + baseline`` are the cells (G, P,
    N), unit products; ``exact``: ``matrix`` holds integer levels whose partial sums are exact
    (:func:`exact_levels`), else float cells (partial sums in BLAS's order); ``planes``: the
    levels' bit-planes, for 1-bit DAC slices summed by popcount instead of BLAS
    (:func:`.kernel.bit_sums`, exact; ``matrix`` is then the cells themselves, levels plus
    ``baseline``, and only its shape is read). Indexing slices the read groups."""

    matrix: torch.Tensor
    baseline: float
    exact: bool
    planes: torch.Tensor | None = None  # bit-planes of matrix: 1-bit slices by popcount

    def __getitem__(self, idx: slice) -> Dense:
        planes = None if self.planes is None else self.planes[idx]
        return Dense(self.matrix[idx], self.baseline, self.exact, planes)


def plan(
    rows: int, dac: int, weights: torch.Tensor, baseline: float = 0.0, force: str | None = None
) -> Dense | None:
    """How a bucket of cell weights (G, P, N) (unit products) is read: None for the sparse
    kernel, else a :class:`Dense` plan for :func:`read_dense`.

    1-bit DAC slices on integer levels, with or without a baseline: their bit-planes where
    :data:`BITS_MIN_ROWS` says popcounts are faster. Integer levels without a baseline (the
    sparse kernel's numbers): exact levels where :data:`DENSE_MIN_ROWS` says BLAS is faster.
    Other cells (integer levels plus the off-state baseline ``baseline``; programming noise,
    drift: rounding-level differences from the sparse kernel) where :data:`FLOAT_DENSE_MIN`
    says so: exact levels plus the baseline (its share added once per read) for integer
    levels, else the float cells themselves. ``force`` (``sparse`` / ``dense`` / ``bits``)
    overrides the crossovers. A pure function of the settings and the cells, never of
    timings."""
    if force not in (None, "sparse", "dense", "bits"):
        raise ValueError(f"read strategy {force!r}: expected None, 'sparse', 'dense' or 'bits'")
    if force == "sparse" or weights.numel() == 0:
        return None
    if dac == 1 and force in (None, "bits"):
        bits = _bit_plan(rows, weights, baseline, force == "bits")
        if bits is not None or force == "bits":
            return bits
    exact_dense = force == "dense" or strategy(rows, dac, True) == "dense"
    float_dense = force == "dense" or strategy(rows, dac, False, weights.shape[2]) == "dense"
    if not (exact_dense or float_dense):
        return None
    levels = _levels(weights, dac, 0.0)
    if levels is not None:  # bit for bit the sparse kernel's numbers
        return Dense(levels, 0.0, True) if exact_dense else None
    if not float_dense:
        return None
    based = _levels(weights, dac, baseline) if baseline else None
    return Dense(based, baseline, True) if based is not None else Dense(weights, 0.0, False)


def _bit_plan(rows: int, weights: torch.Tensor, baseline: float, force: bool) -> Dense | None:
    """The popcount plan of 1-bit DAC slices on integer levels, with or without the off-state
    ``baseline`` (its share then added once per read: rounding apart from the sparse kernel's
    running sum), where :data:`BITS_MIN_ROWS` says it is faster, else None; with ``force``,
    any reads and level widths. The bit-planes are packed once per weight tensor and only
    they are kept (the plan's ``matrix`` is the cells themselves: no copy)."""
    key = ("bits", baseline, force)
    got = _cached(weights, key, lambda: _bit_planes(rows, weights, baseline, force))
    return None if got is None else Dense(weights, got[1], True, got[0])


def _bit_planes(
    rows: int, weights: torch.Tensor, baseline: float, force: bool
) -> tuple[torch.Tensor, float] | None:
    """(bit-planes, baseline) of :func:`_bit_plan`, or None."""
    levels, base = exact_levels(weights, 1, 0.0), 0.0
    if levels is None and baseline:
        levels, base = exact_levels(weights, 1, baseline), baseline
    if levels is None or float(levels.min()) < 0:
        return None
    bits = max(1, int(levels.max()).bit_length())
    if not force and not any(bits <= b and rows >= r for b, r in BITS_MIN_ROWS):
        return None
    return kernel.pack_levels(levels, bits), base


def read_dense(
    codes: torch.Tensor,
    dac: int,
    n_x: int,
    levels: torch.Tensor | Dense,
    inv: torch.Tensor,
    inv2: torch.Tensor,
    read_var: float,
    out_var: float,
    noise: tuple[int, int] | None,
    kmax: int,
    coef: torch.Tensor,
    digital: torch.Tensor,
    scratch: torch.Tensor,
    out: torch.Tensor,
    baseline: float = 0.0,
    sums: torch.Tensor | None = None,
    exact: bool = True,
    n_threads: int | None = None,
) -> int:
    """:func:`.kernel.read` of cell weights ``levels + baseline`` with the partial sums from
    ``torch.bmm``: ``levels`` (G, P, N) integers (:func:`exact_levels`), exact in any order, so
    with ``baseline`` 0 the numbers are the sparse kernel's; else each read's partial sum is
    ``float32(sum x * L + float32(baseline * sum x))`` (the exact integer part, then the
    baseline: no summation-order rounding). ``sums``: an optional float32 buffer of at least
    G * NX * M * N elements. Raises when a partial sum could reach ``2**24``, unless
    ``exact`` is False (``levels``: any float32 cell weights, ``baseline`` 0; partial sums in
    BLAS's order, rounding apart from the sparse kernel's). ``levels`` a :class:`Dense` plan:
    its matrix, baseline and exactness (``baseline`` and ``exact`` are then ignored; its levels
    were checked when it was planned, so not again per chunk). ``n_threads``: the compiled
    passes' threads (default :func:`.kernel.threads`; never changes the numbers)."""
    planes, checked = None, isinstance(levels, Dense)  # a plan's levels: checked once
    if isinstance(levels, Dense):
        baseline, exact, planes = levels.baseline, levels.exact, levels.planes
        levels = levels.matrix
    g, m, p = codes.shape
    n = levels.shape[2]
    big = exact and not checked and levels.numel()
    if big and p * (2**dac - 1) * float(levels.abs().max()) >= EXACT_LIMIT:
        raise ValueError(f"read_dense: partial sums of {p} rows may reach 2**24 (not exact)")
    noisy, based = noise is not None, bool(baseline)
    if planes is not None:  # 1-bit slices: popcounts of the bit-planes (exact integers)
        size = g * n_x * m * n
        if sums is None or sums.numel() < size:
            sums = torch.empty(size)
        y = sums[:size].view(g, n_x, m, n)
        sx2, sx = kernel.bit_sums(codes, n_x, planes, y, noisy, based, n_threads)
        return kernel.read_sums(
            y, sx2, inv, inv2, read_var, out_var, noise, kmax, coef, digital, scratch, out,
            n_threads, baseline=(sx, baseline) if sx is not None else None,
        )  # fmt: skip
    x, sx2, sx = kernel.slice_stats(codes, dac, n_x, n_x > 1, noisy, based)
    xs = codes if x is None else x.view(g, n_x * m, p)  # one slice: the codes themselves
    size = g * n_x * m * n
    if sums is None or sums.numel() < size:
        sums = torch.empty(size)
    y = sums[:size].view(g, n_x * m, n)
    torch.bmm(xs, levels, out=y)
    return kernel.read_sums(
        y.view(g, n_x, m, n), sx2, inv, inv2, read_var, out_var, noise, kmax, coef, digital,
        scratch, out, n_threads, baseline=(sx, baseline) if sx is not None else None,
    )  # fmt: skip


def int8_weights(q_w: torch.Tensor, code_max: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(int8 weight codes, int32 column sums) of integer weight codes ``q_w`` (rows, cols) for
    :func:`int_reference`, or None where that exact int8 GEMM does not apply: not on CPU,
    input codes above 255 or weight codes beyond +-127, or sums that could leave int32."""
    if q_w.device.type != "cpu" or not hasattr(torch, "_int_mm") or q_w.numel() == 0:
        return None
    w_max = float(q_w.abs().max())
    if code_max > 255 or w_max > 127 or q_w.shape[0] * 255 * w_max >= 2.0**31:
        return None
    return q_w.to(torch.int8), q_w.sum(0).to(torch.int32)


def int_reference(
    codes: torch.Tensor, q8: torch.Tensor, colsum: torch.Tensor, zero_point: int
) -> torch.Tensor:
    """The digital result ``(codes - zero_point) @ q_w`` (M, cols), float32, computed exactly:
    one int8 x int8 -> int32 GEMM of ``codes - 128`` (codes: integers in [0, 255], held in
    float) with ``q8`` (:func:`int8_weights`), plus ``(128 - zero_point) * colsum``; rounded once
    to float32 (exact below ``2**24``: then the float32 matmul's numbers)."""
    c8 = codes.to(torch.uint8).bitwise_xor_(128).view(torch.int8)  # code - 128, exactly
    acc = torch._int_mm(c8, q8)
    return acc.add_(colsum, alpha=128 - zero_point).float()

"""The chunks of reads of one bucket of read groups (:meth:`.engine.LayerEngine._analog`), on
one thread or, for compiled sparse reads on CPU, on several at once.

A chunk (read groups ``g0..`` x input vectors ``m0..``, :meth:`.engine.LayerEngine.chunks`)
is one call of the noise stream: call indices follow the sequential order (groups outer,
vectors inner). A compiled read (:func:`.kernel.read`, a ctypes call) releases the GIL, so with
``threads > 1`` a few Python threads each take a contiguous, equal run of the bucket's input
vectors (:func:`runs`: the balance does not depend on how many chunks there are) and read
every group of their own output rows in ascending order (group by group, so that the threads
share each group's cell weights in cache): each chunk, or the part of it in their run (the
kernel's ``rows``), with the chunk's sequential call index and a scratch buffer of their own:
the same numbers as one thread, with one synchronisation per bucket instead of the kernel's
own two per chunk (which cost most for small chunks and on a busy machine, where one
descheduled thread stalls every chunk). Popcount reads (:mod:`.read_plan`'s ``bits``) run
whole chunks the same way (runs of chunks per thread, one kernel thread each). With a single
input vector or chunk (the kernel splits each chunk's rows instead) or for BLAS / torch
reads, chunks run one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import torch

from cimsweep.cim import kernel, read_plan, torch_read
from cimsweep.cim.devices import NoiseStream

if TYPE_CHECKING:
    from cimsweep.cim.engine import LayerEngine

T = TypeVar("T")
_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_size = 0


def runs(n: int, parts: int) -> list[range]:
    """``n`` items split into at most ``parts`` contiguous, non-empty runs (sizes differ by at
    most one)."""
    parts = max(1, min(parts, n))
    return [range(n * i // parts, n * (i + 1) // parts) for i in range(parts)] if n else []


def map_runs(fn: Callable[[range], T], items: Sequence[range]) -> list[T]:
    """``[fn(r) for r in items]``: the first run on the calling thread, the others on a shared
    pool (grown to the most runs asked for so far)."""
    if len(items) <= 1:
        return [fn(r) for r in items]
    global _pool, _size
    with _lock:
        if _pool is None or _size < len(items) - 1:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _size = len(items) - 1
            _pool = ThreadPoolExecutor(max_workers=_size, thread_name_prefix="cimsweep-read")
        pool = _pool
    futures = [pool.submit(fn, r) for r in items[1:]]
    first = fn(items[0])
    return [first, *(f.result() for f in futures)]


@dataclass
class BucketRead:
    """One bucket's reads: codes (G_b, M, p_b), cell weights (G_b, p_b, n_w * pc) or their
    integer ``levels`` (dense reads), per (group, weight slice) 1 / ADC step ``inv``, its
    square, the digital shift-add weight ``d4`` and the ADC step ``step``; ``noise`` None for
    noise-free reads; results accumulate into ``out`` (M, pc)."""

    engine: LayerEngine
    codes: torch.Tensor
    weights: torch.Tensor
    levels: torch.Tensor | read_plan.Dense | None
    inv: torch.Tensor
    inv2: torch.Tensor
    d4: torch.Tensor
    step: torch.Tensor
    gc: int
    mc_max: int
    n_x: int
    coef_x: torch.Tensor
    variances: tuple[torch.Tensor, torch.Tensor]  # float32 read and output noise variances
    fused: bool
    noise: NoiseStream | None
    out: torch.Tensor
    binary: tuple[torch.Tensor, float, float] | None = None  # two-valued cells' bits
    _sums: torch.Tensor | None = field(default=None, init=False)  # dense reads' buffer

    def chunk(
        self,
        g0: int,
        m0: int,
        zbuf: torch.Tensor,
        call: int | None,
        threads: int,
        rows: tuple[int, int] | None = None,
        sums: torch.Tensor | None = None,
    ) -> int:
        """Reads of groups ``g0..`` and vectors ``m0..`` (noise ``call``), added to ``out``
        (``threads`` 0: the kernel's default; ``rows`` (lo, hi): only the chunk's vectors
        ``lo..hi - 1``, compiled sparse reads only; ``sums``: dense reads' partial-sum buffer,
        default the bucket's); returns the clipped count."""
        e, n_w, pc = self.engine, self.engine.map.n_w, self.engine.map.phys_cols
        gs = slice(g0, g0 + self.gc)
        w_c, inv_c, inv2_c, d4_c = self.weights[gs], self.inv[gs], self.inv2[gs], self.d4[gs]
        cc = self.codes[gs, m0 : m0 + self.mc_max]
        g_c, mc = cc.shape[0], cc.shape[1]
        z = zbuf[: g_c * mc * n_w * pc].view(g_c, mc, n_w, pc)
        rows_out = self.out[m0 : m0 + mc]
        if self.fused:  # slicing, partial sums, noise, ADC and shift-adds in one pass
            stream = None if self.noise is None or call is None else (self.noise.key, call)
            var = float(self.variances[0]), float(self.variances[1])  # the same float32 values
            args = (inv_c, inv2_c, *var, stream, e.kmax, self.coef_x, d4_c, z, rows_out)
            if self.levels is not None:  # partial sums by BLAS, then the same compiled pass
                return read_plan.read_dense(
                    cc, e.dac, self.n_x, self.levels[gs], *args, baseline=e.c,
                    sums=self._sums if sums is None else sums, n_threads=threads or None,
                )  # fmt: skip
            bits = None if self.binary is None else (self.binary[0][gs], *self.binary[1:])
            return kernel.read(
                cc, e.dac, self.n_x, w_c, *args, n_threads=threads or None, binary=bits, rows=rows
            )
        clipped = torch_read.read_torch(
            e, cc, w_c, inv_c, inv2_c, self.variances, self.noise, self.step[gs],
            self.coef_x, z, self.n_x,
        )  # fmt: skip
        acc = torch.zeros_like(rows_out)  # same order as the kernel: g, then w
        for g in range(g_c):
            for w in range(n_w):
                acc += z[g, :, w] * d4_c[g, w]
        rows_out += acc
        return clipped

    def run(self) -> int:
        """Every chunk of the bucket; returns the clipped count."""
        e, g_b, m_total = self.engine, self.codes.shape[0], self.codes.shape[1]
        size = self.gc * self.mc_max * e.map.n_w * e.map.phys_cols
        zbuf = torch.empty(size, device=self.codes.device)  # stays mapped, cache-warm
        self._sums = None if self.levels is None else torch.empty(size * self.n_x)
        g_starts, m_starts = range(0, g_b, self.gc), range(0, m_total, self.mc_max)
        streams = self.fused and self.noise is not None  # torch reads draw their own calls
        sparse = self.fused and self.levels is None
        if sparse:  # runs of input vectors, chunks cut where they fall
            parts = runs(m_total, min(kernel.threads(), m_total))
        elif self._popcount:  # runs of whole chunks
            cut = runs(len(m_starts), min(kernel.threads(), len(m_starts)))
            parts = [
                range(m_starts[r.start], min(m_total, m_starts[r.stop - 1] + self.mc_max))
                for r in cut
            ]
        else:
            parts = [range(m_total)]
        if len(parts) <= 1:
            clipped = 0
            for g0 in g_starts:
                for m0 in m_starts:
                    call = self.noise.next_call() if streams and self.noise else None
                    clipped += self.chunk(g0, m0, zbuf, call, 0)
            return clipped
        base = self.noise.calls if streams and self.noise else 0

        def run_rows(ms: range) -> int:
            own, clipped = (zbuf if ms.start == 0 else torch.empty(size)), 0
            sums = None if self.levels is None or ms.start == 0 else torch.empty(size * self.n_x)
            for gi, g0 in enumerate(g_starts):  # groups in turn: their weights stay cached
                for mi, m0 in enumerate(m_starts):  # each row adds its groups in order
                    lo, hi = max(ms.start, m0), min(ms.stop, m0 + self.mc_max)
                    if lo >= hi:
                        continue
                    call = base + gi * len(m_starts) + mi if streams else None
                    part = None if (lo, hi) == (m0, min(m_total, m0 + self.mc_max)) else (lo, hi)
                    rel = None if part is None else (lo - m0, hi - m0)
                    clipped += self.chunk(g0, m0, own, call, 1, rel, sums)
            return clipped

        clipped = sum(map_runs(run_rows, parts))
        if streams and self.noise:
            self.noise.calls = base + len(g_starts) * len(m_starts)
        return clipped

    @property
    def _popcount(self) -> bool:
        """Whether the bucket is read by popcounts (compiled only: no BLAS, whose own threads
        would compete with the bucket's)."""
        lv = self.levels
        return self.fused and isinstance(lv, read_plan.Dense) and lv.planes is not None

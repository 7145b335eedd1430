"""Counter-based Gaussian read noise and the fused CPU read-path kernel (``_kernel.c``).

The noise of one call (one chunk of reads) is a pure function of ``(key, call, index)``: in
blocks of 2048 normals, Philox4x32-10 (key, counter ``(block * 32 + lane, 0, call)``) seeds 32
xoshiro128++ lanes of 32 outputs each; each 16-bit half of an output word draws from
:func:`normal_table` (4096 equiprobable normal values, the outermost two refined 16-fold, so
``|z| <= 4.39``). Two implementations give bit-identical numbers:

- ``_kernel.c``, compiled on first use with the system C compiler (``$CC``, else ``cc``) into a
  per-user cache (``$CIMSWEEP_KERNEL_DIR``, else ``$XDG_CACHE_HOME/cimsweep`` or
  ``~/.cache/cimsweep``) and loaded through ctypes. On CPU tensors it fuses DAC slicing, the
  partial sums, noise, ADC and both shift-adds into one pass per chunk of reads
  (:func:`read`), and builds conv input patches (:func:`im2col`).
- a torch mirror of the same integer and float32 operations, used on other devices (CUDA), when no
  compiler is found, or with ``CIMSWEEP_KERNEL=0``.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from functools import cache
from pathlib import Path

import torch

from cimsweep.cim.converters import dac_slices as dac_slices_torch
from cimsweep.cim.kernel_abi import bind as bind
from cimsweep.cim.streams import BLOCK as BLOCK
from cimsweep.cim.streams import COARSE as COARSE
from cimsweep.cim.streams import LANES as LANES
from cimsweep.cim.streams import STEPS as STEPS
from cimsweep.cim.streams import normal_table as normal_table
from cimsweep.cim.streams import normals_torch as normals_torch
from cimsweep.cim.streams import philox as philox
from cimsweep.cim.streams import sqrt_rn as sqrt_rn
from cimsweep.cim.streams import table_normals as table_normals
from cimsweep.cim.streams import xoshiro as xoshiro

SOURCE = Path(__file__).with_name("_kernel.c")
CFLAGS = (
    "-O3",
    "-std=gnu99",
    "-fPIC",
    "-shared",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-ffp-contract=off",
    "-pthread",  # cim_read / cim_read_sums split their rows over threads
)
LIBS = ("-lm",)  # rintf, should the compiler not inline it


def _cache_dir() -> Path:
    if os.environ.get("CIMSWEEP_KERNEL_DIR"):
        return Path(os.environ["CIMSWEEP_KERNEL_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cimsweep"


def _compiler() -> str | None:
    cc = os.environ.get("CC") or "cc"
    return cc if shutil.which(cc.split()[0]) else None


def _build(cc: str) -> Path:
    """Compile ``_kernel.c`` once per source, flags and compiler; returns the library path."""
    version = subprocess.run(
        [*cc.split(), "--version"], capture_output=True, text=True, check=False
    ).stdout
    tag = hashlib.sha256(
        SOURCE.read_bytes() + " ".join(CFLAGS + LIBS).encode() + version.encode()
    ).hexdigest()[:16]
    out = _cache_dir() / f"cimkernel-{tag}-{sys.platform}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cimkernel-", suffix=".so", dir=out.parent)
    os.close(fd)
    try:
        proc = subprocess.run(
            [*cc.split(), *CFLAGS, str(SOURCE), *LIBS, "-o", tmp], capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{cc} failed on {SOURCE.name}:\n{proc.stderr.strip()}")
        os.replace(tmp, out)  # atomic: concurrent jobs never load a half-written library
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


@cache
def library() -> ctypes.CDLL | None:
    """The compiled kernel, or None (disabled, no compiler, or the build failed: warns once)."""
    if os.environ.get("CIMSWEEP_KERNEL", "1") == "0":
        return None
    cc = _compiler()
    if cc is None:
        warnings.warn(
            "no C compiler found ($CC or cc): the CIM simulator uses its slower torch path",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    try:
        lib = ctypes.CDLL(str(_build(cc)))
    except (OSError, RuntimeError) as err:
        warnings.warn(
            f"CIM kernel unavailable ({err}); using the slower torch path",
            RuntimeWarning,
            stacklevel=2,
        )
        return None
    return bind(lib)


def loaded() -> ctypes.CDLL:
    """The compiled kernel; raises when :func:`library` found none (callers check ``fused``)."""
    lib = library()
    if lib is None:
        raise RuntimeError("CIM kernel library is not available")
    return lib


def fused(device: torch.device) -> bool:
    """Whether reads on ``device`` go through the compiled kernel."""
    return device.type == "cpu" and library() is not None


# ------------------------------------------------------------------ public entry points
def normals(key: int, call: int, n: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The first ``n`` N(0, 1) float32 samples of stream ``(key, call)`` on ``device``."""
    device = torch.device(device)
    if not fused(device):
        return normals_torch(key, call, n, device)
    out = torch.empty(n, dtype=torch.float32)
    loaded().cim_normals(key, call, n, normal_table().data_ptr(), out.data_ptr())
    return out


def dac_slices(
    codes: torch.Tensor, dac: int, n_x: int, power: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """DAC slices (G, n_x, M, P) float32 of int32 codes (G, M, P), least significant first,
    and, with ``power``, their per-read input power ``sum_P x**2`` (G, n_x, M).

    ``codes`` may be a strided view (unit stride along P only); compiled on CPU, torch
    otherwise, with identical results (integer sums below 2**24 are exact in float32).
    """
    g, m, p = codes.shape
    if fused(codes.device) and codes.dtype == torch.int32 and codes.stride(2) == 1:
        size = g * n_x * m * p
        buf = torch.empty(size + g * n_x * m)
        x = buf[:size].view(g, n_x, m, p)
        sx2 = buf[size : size + g * n_x * m].view(g, n_x, m) if power else None
        loaded().cim_slices(
            codes.data_ptr(), g, m, p, codes.stride(0), codes.stride(1), n_x, dac,
            x.data_ptr(), None if sx2 is None else sx2.data_ptr(),
        )  # fmt: skip
        return x, sx2
    x = dac_slices_torch(codes, dac, n_x).transpose(0, 1)
    return x, (None if not power else x.sum(-1) if dac == 1 else x.square().sum(-1))


def threads() -> int:
    """Threads of a compiled read: torch's intra-op thread count (the job's ``threads``)."""
    return max(1, torch.get_num_threads())


def _check(tensors: tuple[torch.Tensor, ...], first: torch.Tensor, name: str) -> None:
    ok = first.stride(-1) == 1
    for t in tensors:
        ok = ok and t.dtype == torch.float32 and (t is first or t.is_contiguous())
    if not ok or any(t.device.type != "cpu" for t in tensors):
        raise ValueError(f"{name} needs float32 CPU tensors, contiguous (codes: along P)")


def _check_adc(g: int, m: int, w: int, pc: int, n_x: int, *ts: torch.Tensor) -> None:
    inv, inv2, coef, digital, scratch, out = ts
    if scratch.shape != (g, m, w, pc):
        raise ValueError(f"read: scratch {tuple(scratch.shape)} must be {(g, m, w, pc)}")
    if inv.shape != (g, w) or inv2.shape != (g, w) or digital.shape != (g, w):
        raise ValueError("read: inv / inv2 / digital must be (G, W)")
    if coef.numel() != n_x or out.shape != (m, pc):
        raise ValueError(f"read: coef needs {n_x} entries and out the shape {(m, pc)}")


def read(
    codes: torch.Tensor,
    dac: int,
    n_x: int,
    weights: torch.Tensor,
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
    n_threads: int | None = None,
    binary: tuple[torch.Tensor, float, float] | None = None,
    rows: tuple[int, int] | None = None,
) -> int:
    """Compiled read of one chunk on CPU tensors, accumulated into ``out``; returns the
    clipped-read count.

    codes: (G, M, P) integer codes held in float32, unit stride along P; weights: (G, P, W * PC)
    cell weights in unit products; inv, inv2: (G, W) 1 / ADC step and its square (float32);
    read_var, out_var: read noise variance per unit product and output noise variance (ADC
    steps squared); noise: (key, call) of the stream, or None for noise-free reads; coef: (NX,)
    input shift-add weights; digital: (G, W) weight of each read group and weight slice's
    codes; scratch: (G, M, W, PC), overwritten with ``z = sum_ix coef[ix] * clamp(round(y *
    inv + normal * sd), 0, kmax)``; out: (M, PC) rows, ``+= sum_g sum_w z[g, :, w] *
    digital[g, w]`` (g, then w ascending). ``n_threads`` (default :func:`threads`) never
    changes the numbers. ``binary`` (bits, f0, f1): ``weights`` take only the float32 values
    ``f0`` and ``f1``, and ``bits`` (G, P, ceil(W * PC / 16)) int16 words mark the ``f1``
    cells (bit ``n % 16`` of word ``n // 16``; :func:`.read_plan.binary_cells`): the same
    numbers, summed from the bits where the CPU has AVX-512. ``rows`` (lo, hi): only vectors
    ``lo..hi - 1`` of the chunk are read (on this thread; scratch and ``out`` rows of the
    others untouched), each with the numbers it has in the whole chunk.
    """
    g, m, p = codes.shape
    w = inv.shape[1]
    n = weights.shape[2]
    _check((codes, weights, inv, inv2, coef, digital, scratch, out), codes, "read")
    if weights.shape[:2] != (g, p) or n % w:
        raise ValueError(f"read: weights {tuple(weights.shape)} do not match codes {(g, m, p)}")
    pc = n // w
    _check_adc(g, m, w, pc, n_x, inv, inv2, coef, digital, scratch, out)
    key, call = noise if noise is not None else (0, 0)
    bits_ptr, f0, f1 = None, 0.0, 0.0
    if binary is not None:
        bits, f0, f1 = binary
        if bits.dtype != torch.int16 or bits.shape != (g, p, -(-n // 16)):
            raise ValueError(f"read: bits {tuple(bits.shape)} must be int16 {(g, p, -(-n // 16))}")
        if not bits.is_contiguous():
            raise ValueError("read: bits must be contiguous")
        bits_ptr = bits.data_ptr()
    lo, hi = rows if rows is not None else (0, m)
    if not 0 <= lo < hi <= m:
        raise ValueError(f"read: rows {rows} must be within the chunk's {m} vectors")
    clipped = loaded().cim_read_binary(
        codes.data_ptr(), g, m, p, codes.stride(0), codes.stride(1), n_x, dac,
        weights.data_ptr(), bits_ptr, f0, f1, w, pc, inv.data_ptr(), inv2.data_ptr(),
        read_var, out_var, noise is not None, key, call, normal_table().data_ptr(),
        float(kmax), coef.data_ptr(), digital.data_ptr(), scratch.data_ptr(), out.data_ptr(),
        n_threads or threads(), lo, hi,
    )  # fmt: skip
    if clipped < 0:
        raise MemoryError("cim_read: out of memory for its row buffers")
    return int(clipped)


def slice_stats(
    codes: torch.Tensor, dac: int, n_x: int, slices: bool, power: bool, sums: bool
) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
    """DAC slices (G, n_x, M, P) of integer codes (G, M, P) held in float32 (unit stride along
    P; compiled), with ``slices``; each slice's ``sum_P x**2`` (G, n_x, M) with ``power`` and
    ``sum_P x`` with ``sums`` (exact integers rounded once to float32, as :func:`read`)."""
    g, m, p = codes.shape
    _check((codes,), codes, "slice_stats")
    x = torch.empty(g, n_x, m, p) if slices else None
    sx2 = torch.empty(g, n_x, m) if power else None
    sx = torch.empty(g, n_x, m) if sums else None
    loaded().cim_slice_stats(
        codes.data_ptr(), g, m, p, codes.stride(0), codes.stride(1), n_x, dac,
        *(None if t is None else t.data_ptr() for t in (x, sx2, sx)),
    )  # fmt: skip
    return x, sx2, sx


def pack_levels(levels: torch.Tensor, bits: int) -> torch.Tensor:
    """Bit-planes (G, bits, ceil(P / 64), N) int64 words of integer cell levels (G, P, N) in
    [0, 2**bits), held in float32 (compiled; for :func:`bit_sums`)."""
    g, p, n = levels.shape
    _check((levels,), levels, "pack_levels")
    out = torch.empty(g, bits, -(-p // 64), n, dtype=torch.int64)
    loaded().cim_pack_levels(levels.data_ptr(), g, p, n, bits, out.data_ptr())
    return out


def bit_sums(
    codes: torch.Tensor,
    n_x: int,
    planes: torch.Tensor,
    ys: torch.Tensor,
    power: bool,
    sums: bool,
    n_threads: int | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Partial sums ``ys`` (G, NX, M, N) of the 1-bit DAC slices of integer codes (G, M, P)
    (float32, unit stride along P) on cell levels packed by :func:`pack_levels`: popcounts of
    each slice's bits with every bit-plane, weighted ``2**b`` (exact integers, rounded once to
    float32); returns each read's ``sum x**2`` (with ``power``) and ``sum x`` (with ``sums``),
    (G, NX, M). ``n_threads`` (default :func:`threads`) never changes the numbers."""
    g, m, p = codes.shape
    n, bits = planes.shape[3], planes.shape[1]
    _check((codes, ys), codes, "bit_sums")
    if planes.shape != (g, bits, -(-p // 64), n) or ys.shape != (g, n_x, m, n):
        raise ValueError(f"bit_sums: planes {tuple(planes.shape)} / ys do not match {(g, m, p)}")
    sx2 = torch.empty(g, n_x, m) if power else None
    sx = torch.empty(g, n_x, m) if sums else None
    failed = loaded().cim_bit_sums(
        codes.data_ptr(), g, m, p, codes.stride(0), codes.stride(1), n_x, planes.data_ptr(),
        n, bits, ys.data_ptr(), *(None if t is None else t.data_ptr() for t in (sx2, sx)),
        n_threads or threads(),
    )  # fmt: skip
    if failed:
        raise MemoryError("cim_bit_sums: out of memory for its row buffers")
    return sx2, sx


def read_sums(
    y: torch.Tensor,
    sx2: torch.Tensor | None,
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
    n_threads: int | None = None,
    baseline: tuple[torch.Tensor, float] | None = None,
) -> int:
    """:func:`read` from precomputed partial sums ``y`` (G, NX, M, W * PC) in unit products
    and their input power ``sx2`` (G, NX, M) (needed with ``noise``): noise, ADC and both
    shift-adds in one compiled pass, the same numbers as :func:`read` when ``y`` holds its
    partial sums. ``baseline`` (sx, c): each read's input sum sx (G, NX, M) and a common cell
    baseline c; ``float32(c * sx)`` is added to the read's partial sums first. Returns the
    clipped-read count."""
    g, n_x, m, n = y.shape
    w = inv.shape[1]
    sx, base = baseline if baseline is not None else (None, 0.0)
    extra = tuple(t for t in (sx2, sx) if t is not None)
    _check((y, inv, inv2, coef, digital, scratch, out, *extra), y, "read_sums")
    if not y.is_contiguous() or n % w or any(t.shape != (g, n_x, m) for t in extra):
        raise ValueError(f"read_sums: y {tuple(y.shape)} must be contiguous, sx2 / sx (G, NX, M)")
    if noise is not None and sx2 is None:
        raise ValueError("read_sums: noisy reads need the input power sx2")
    _check_adc(g, m, w, n // w, n_x, inv, inv2, coef, digital, scratch, out)
    key, call = noise if noise is not None else (0, 0)
    clipped = loaded().cim_read_sums(
        y.data_ptr(), None if sx2 is None else sx2.data_ptr(),
        None if sx is None else sx.data_ptr(), base, g, m, n_x, w, n // w,
        inv.data_ptr(), inv2.data_ptr(), read_var, out_var, noise is not None, key, call,
        normal_table().data_ptr(), float(kmax), coef.data_ptr(), digital.data_ptr(),
        scratch.data_ptr(), out.data_ptr(), n_threads or threads(),
    )  # fmt: skip
    if clipped < 0:
        raise MemoryError("cim_read_sums: out of memory for its row buffers")
    return int(clipped)


def im2col(
    xp: torch.Tensor,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    out_hw: tuple[int, int],
) -> torch.Tensor:
    """Patches (N * Ho * Wo, C * kh * kw) of a padded NCHW input, columns in ``F.unfold``
    order: compiled for contiguous float32 CPU tensors, else one strided torch copy."""
    n, c, hp, wp = xp.shape
    (kh, kw), (sh, sw), (dh, dw), (ho, wo) = kernel_size, stride, dilation, out_hw
    if fused(xp.device) and xp.dtype == torch.float32 and xp.is_contiguous():
        out = torch.empty(n * ho * wo, c * kh * kw)
        loaded().cim_im2col(
            xp.data_ptr(), n, c, hp, wp, ho, wo, kh, kw, sh, sw, dh, dw, out.data_ptr()
        )
        return out
    s_n, s_c, s_h, s_w = xp.stride()
    patches = xp.as_strided(
        (n, ho, wo, c, kh, kw), (s_n, sh * s_h, sw * s_w, s_c, dh * s_h, dw * s_w),
        xp.storage_offset(),
    )  # fmt: skip
    return patches.reshape(n * ho * wo, c * kh * kw)

"""Counter-based Gaussian read noise and the fused CPU read-path kernel (``_kernel.c``).

The noise of one call (one chunk of reads) is a pure function of ``(key, call, index)``:
Philox4x32-10 words turned into normals by a Box-Muller transform with 16-bit radius and angle
fields (|z| <= 4.71). Two implementations give bit-identical numbers:

- ``_kernel.c``, compiled on first use with the system C compiler (``$CC``, else ``cc``) into a
  per-user cache (``$CIMSWEEP_KERNEL_DIR``, else ``$XDG_CACHE_HOME/cimsweep`` or
  ``~/.cache/cimsweep``) and loaded through ctypes. On CPU tensors it fuses noise, ADC and the
  input-slice shift-add into one pass over the partial sums.
- a torch mirror of the same integer and float32 operations, used on other devices (CUDA), when no
  compiler is found, or with ``CIMSWEEP_KERNEL=0``.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import torch

from .converters import dac_slices as dac_slices_torch

SOURCE = Path(__file__).with_name("_kernel.c")
CFLAGS = (
    "-O3",
    "-std=gnu99",
    "-fPIC",
    "-shared",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-ffp-contract=off",
)
CALLS = 256  # Philox calls per block
BLOCK = 8 * CALLS  # normals per block
_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = 0xFFFFFFFF

# float32 constants shared with _kernel.c (enum order): ln 2, sqrt 2, atanh series 2/(2k+1),
# pi/2, sine and cosine Taylor coefficients
_CONSTS = np.array(
    [math.log(2), math.sqrt(2), 2, 2 / 3, 2 / 5, 2 / 7, 2 / 9, math.pi / 2]
    + [-1 / 6, 1 / 120, -1 / 5040, -1 / 2, 1 / 24, -1 / 720, 1 / 40320],
    dtype=np.float32,
)
(LN2, SQRT2, L1, L3, L5, L7, L9, HPI, S3, S5, S7, C2, C4, C6, C8) = (float(c) for c in _CONSTS)


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
        SOURCE.read_bytes() + " ".join(CFLAGS).encode() + version.encode()
    ).hexdigest()[:16]
    out = _cache_dir() / f"cimkernel-{tag}-{sys.platform}.so"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cimkernel-", suffix=".so", dir=out.parent)
    os.close(fd)
    try:
        proc = subprocess.run(
            [*cc.split(), *CFLAGS, str(SOURCE), "-o", tmp], capture_output=True, text=True
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


def bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declare the argument and result types of the kernel's entry points on ``lib``."""
    ptr, i64, u64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64
    lib.cim_normals.argtypes = [u64, u64, i64, ptr, ptr]
    lib.cim_normals.restype = None
    lib.cim_adc_shift_add.argtypes = [ptr, i64, i64, i64, i64, i64, ptr, u64, u64, ptr]
    lib.cim_adc_shift_add.argtypes += [ctypes.c_float, ptr, ptr]
    lib.cim_adc_shift_add.restype = i64
    lib.cim_slices.argtypes = [ptr, i64, i64, i64, i64, i64, i64, ctypes.c_int, ptr, ptr]
    lib.cim_slices.restype = None
    return lib


def fused(device: torch.device) -> bool:
    """Whether reads on ``device`` go through the compiled kernel."""
    return device.type == "cpu" and library() is not None


_CONST_T = torch.from_numpy(_CONSTS)


# ------------------------------------------------------------------ torch mirror
def _mulhilo(m: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32 bits of ``m * x`` (x: int64 holding uint32), without int64 overflow."""
    a = (x & 0xFFFF) * m
    b = (x >> 16) * m
    t = a + ((b & 0xFFFF) << 16)
    return (b >> 16) + (t >> 32), t & _MASK32


def philox(key: int, call: int, counters: torch.Tensor) -> list[torch.Tensor]:
    """Philox4x32-10 words (4 int64 tensors) of counters ``(counters, 0, call_lo, call_hi)``."""
    x0 = counters & _MASK32
    x1 = torch.zeros_like(x0)
    x2 = torch.full_like(x0, call & _MASK32)
    x3 = torch.full_like(x0, (call >> 32) & _MASK32)
    a0, a1 = key & _MASK32, (key >> 32) & _MASK32
    for _ in range(10):
        h0, l0 = _mulhilo(_M0, x0)
        h1, l1 = _mulhilo(_M1, x2)
        x0, x1, x2, x3 = h1 ^ x1 ^ a0, l1, h0 ^ x3 ^ a1, l0
        a0, a1 = (a0 + _W0) & _MASK32, (a1 + _W1) & _MASK32
    return [x0, x1, x2, x3]


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded float32 square root (torch's CPU float32 sqrt can be 1 ulp off).

    The float64 root rounded to float32 is then fixed by exact float64 midpoint tests.
    """
    xd = x.double()
    r = torch.sqrt(xd).float()
    up = torch.nextafter(r, torch.full_like(r, math.inf))
    down = torch.nextafter(r, torch.zeros_like(r))
    rd = r.double()
    r = torch.where(((rd + up.double()) * 0.5).square() <= xd, up, r)
    return torch.where(((rd + down.double()) * 0.5).square() > xd, down, r)


def box_muller(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(cosine, sine) normals of 32-bit words ``v`` (int64), exactly as ``_kernel.c``."""
    u = ((v & 0xFFFF) + 1).to(torch.float32) * 2.0**-16
    bits = u.view(torch.int32)
    e = (bits >> 23) - 127
    m = ((bits & 0x7FFFFF) | 0x3F800000).view(torch.float32)
    big = m > SQRT2
    m = torch.where(big, m * 0.5, m)
    e = e + big.to(torch.int32)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = torch.full_like(s, L9)
    for k in (L7, L5, L3, L1):
        p = p * s2 + k
    ln = e.to(torch.float32) * LN2 + s * p
    rad = _sqrt(ln * -2.0)
    a = v >> 16
    x = ((a & 0x3FFF).to(torch.float32) * 2.0**-14 - 0.5) * HPI
    x2 = x * x
    sp = torch.full_like(x, S7)
    for k in (S5, S3):
        sp = sp * x2 + k
    sn = x + x * (x2 * sp)
    cp = torch.full_like(x, C8)
    for k in (C6, C4, C2):
        cp = cp * x2 + k
    cs = 1.0 + x2 * cp
    q = a >> 14
    odd = (q & 1).bool()
    c, sv = torch.where(odd, sn, cs), torch.where(odd, cs, sn)
    c = torch.where((((q + 1) >> 1) & 1).bool(), -c, c)
    sv = torch.where((q >> 1).bool(), -sv, sv)
    return rad * c, rad * sv


def normals_torch(key: int, call: int, n: int, device: torch.device | str) -> torch.Tensor:
    """The first ``n`` normals of stream ``(key, call)`` with torch ops on ``device``."""
    blocks = -(-n // BLOCK)
    counters = torch.arange(blocks * CALLS, dtype=torch.int64, device=device)
    parts = []
    for w in philox(key, call, counters):
        parts.extend(box_muller(w))
    z = torch.stack([p.view(blocks, CALLS) for p in parts], dim=1)  # (blocks, 8, CALLS)
    return z.reshape(-1)[:n]


# ------------------------------------------------------------------ public entry points
def normals(key: int, call: int, n: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The first ``n`` N(0, 1) float32 samples of stream ``(key, call)`` on ``device``."""
    device = torch.device(device)
    if not fused(device):
        return normals_torch(key, call, n, device)
    out = torch.empty(n, dtype=torch.float32)
    library().cim_normals(key, call, n, _CONST_T.data_ptr(), out.data_ptr())
    return out


def adc_shift_add(
    y: torch.Tensor,
    sd: torch.Tensor | None,
    key: int,
    call: int,
    kmax: int,
    coef: torch.Tensor,
    out: torch.Tensor,
) -> int:
    """Compiled read path on CPU tensors; returns the clipped-read count.

    y: (G, NX, M, W, P) noise-free reads in ADC steps; sd: (G, NX, M, W) noise std in ADC steps
    or None; coef: (NX,) shift-add weights; out: (G, M, W, P), overwritten with
    ``sum_ix coef[ix] * clamp(round(y + normal * sd), 0, kmax)``.
    """
    g, nx, m, w, p = y.shape
    for t in (y, coef, out) + ((sd,) if sd is not None else ()):
        if t.dtype != torch.float32 or not t.is_contiguous() or t.device.type != "cpu":
            raise ValueError("adc_shift_add needs contiguous float32 CPU tensors")
    if out.shape != (g, m, w, p) or coef.numel() != nx:
        raise ValueError(f"adc_shift_add: out {tuple(out.shape)} / coef do not match y {y.shape}")
    if sd is not None and sd.shape != (g, nx, m, w):
        raise ValueError(f"adc_shift_add: sd {tuple(sd.shape)} does not match y {y.shape}")
    return int(
        library().cim_adc_shift_add(
            y.data_ptr(), g, nx, m, w, p,
            None if sd is None else sd.data_ptr(), key, call,
            _CONST_T.data_ptr(), float(kmax), coef.data_ptr(), out.data_ptr(),
        )
    )  # fmt: skip


def dac_slices(
    codes: torch.Tensor, dac: int, n_x: int, power: bool, buf: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """DAC slices (G, n_x, M, P) float32 of int32 codes (G, M, P), least significant first,
    and, with ``power``, their per-read input power ``sum_P x**2`` (G, n_x, M).

    ``codes`` may be a strided view (unit stride along P only); compiled on CPU, torch
    otherwise, with identical results (integer sums below 2**24 are exact in float32).
    ``buf``: optional flat float32 CPU storage of at least ``G * n_x * M * (P + 1)`` elements
    that the compiled path writes both results into.
    """
    g, m, p = codes.shape
    if fused(codes.device) and codes.dtype == torch.int32 and codes.stride(2) == 1:
        size = g * n_x * m * p
        if buf is None or buf.numel() < size + g * n_x * m:
            buf = torch.empty(size + g * n_x * m)
        x = buf[:size].view(g, n_x, m, p)
        sx2 = buf[size : size + g * n_x * m].view(g, n_x, m) if power else None
        library().cim_slices(
            codes.data_ptr(), g, m, p, codes.stride(0), codes.stride(1), n_x, dac,
            x.data_ptr(), None if sx2 is None else sx2.data_ptr(),
        )  # fmt: skip
        return x, sx2
    x = dac_slices_torch(codes, dac, n_x).transpose(0, 1)
    return x, (None if not power else x.sum(-1) if dac == 1 else x.square().sum(-1))

"""ctypes signatures of the compiled kernel's entry points (``_kernel.c``, :mod:`.kernel`)."""

from __future__ import annotations

import ctypes


def bind(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Declare the argument and result types of the kernel's entry points on ``lib``."""
    ptr, i64, u64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64
    lib.cim_normals.argtypes = [u64, u64, i64, ptr, ptr]
    lib.cim_normals.restype = None
    lib.cim_slices.argtypes = [ptr, i64, i64, i64, i64, i64, i64, ctypes.c_int, ptr, ptr]
    lib.cim_slices.restype = None
    lib.cim_im2col.argtypes = [ptr] + [i64] * 12 + [ptr]
    lib.cim_im2col.restype = None
    _bind_reads(lib)
    # cim_read_binary: cim_read of two-valued cells (wts, bits, f0, f1 in place of wts), rows
    read = list(lib.cim_read.argtypes)
    lib.cim_read_binary.argtypes = [*read[:8], ptr, ptr, ctypes.c_float, ctypes.c_float, *read[9:]]
    lib.cim_read_binary.argtypes += [i64, i64]  # the chunk's rows read: [m_lo, m_hi)
    lib.cim_pack_binary.argtypes = [ptr, i64, i64, ctypes.c_float, ctypes.c_float, ptr]
    lib.cim_pack_binary.restype = ctypes.c_int
    lib.cim_read_binary.restype = i64
    # cim_cycle_read (cells perturbed per call / input cycle, read by cim_read): .cycle_read
    f32, cint = ctypes.c_float, ctypes.c_int
    lib.cim_cycle_read.argtypes = [ptr, i64, i64, i64, i64, i64, i64, cint, cint, ptr, ptr]
    lib.cim_cycle_read.argtypes += [i64, i64, i64, f32, f32, f32, cint, f32, ptr, ptr, f32]
    lib.cim_cycle_read.argtypes += [ptr, ptr, f32, f32, cint, u64, u64, ptr, f32, ptr, ptr]
    lib.cim_cycle_read.argtypes += [ptr, ptr, ptr, cint]
    lib.cim_cycle_read.restype = i64
    return lib


def _bind_reads(lib: ctypes.CDLL) -> None:
    """Threaded read chunks: ``cim_read`` (sparse partial sums) and ``cim_read_sums``, and the
    slice statistics of dense reads (``cim_slice_stats``)."""
    ptr, i64, u64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_uint64
    f32, c_int = ctypes.c_float, ctypes.c_int
    noise: list[type] = [ptr, ptr, f32, f32, c_int, u64, u64, ptr, f32, ptr, ptr, ptr, ptr, c_int]
    lib.cim_read.argtypes = [ptr, i64, i64, i64, i64, i64, i64, c_int, ptr, i64, i64, *noise]
    lib.cim_read.restype = i64
    lib.cim_read_sums.argtypes = [ptr, ptr, ptr, f32, i64, i64, i64, i64, i64, *noise]
    lib.cim_read_sums.restype = i64
    lib.cim_slice_stats.argtypes = [ptr, i64, i64, i64, i64, i64, i64, c_int, ptr, ptr, ptr]
    lib.cim_slice_stats.restype = None
    lib.cim_read_sums.restype = i64
    lib.cim_pack_levels.argtypes = [ptr, i64, i64, i64, c_int, ptr]
    lib.cim_pack_levels.restype = None
    lib.cim_bit_sums.argtypes = [ptr, i64, i64, i64, i64, i64, i64, ptr, i64, c_int]
    lib.cim_bit_sums.argtypes += [ptr, ptr, ptr, c_int]
    lib.cim_bit_sums.restype = c_int

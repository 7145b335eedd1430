"""Binary reads (two-valued cells summed from their bits, :func:`.read_plan.binary_cells`): the
same numbers as the sparse kernel on the float cells, on any thread count and on the portable
build, and picked by the engine for 1-bit cells with the off-state baseline."""

from __future__ import annotations

import ctypes
import subprocess

import pytest
import torch

from cimsweep.cim import kernel, read_plan, sim_config
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import LayerEngine

needs_kernel = pytest.mark.skipif(kernel.library() is None, reason="no C compiler")
C = 1.0 / 99.0  # an off-state baseline whose running sums round at every step


def _chunk(dac: int, noisy: bool, pc: int, seed: int = 5):
    """kernel.read arguments (minus z, out) on two-valued cells ``level + C`` (float32)."""
    gen = torch.Generator().manual_seed(seed)
    g, m, p, w = 2, 33, 57, 3
    n_x = -(-8 // dac)
    codes = torch.randint(0, 256, (m, g * p), generator=gen).float()
    codes[:, :3] = 0
    view = codes.unflatten(1, (g, p)).transpose(0, 1)  # (G, M, P), unit stride along P only
    weights = torch.randint(0, 2, (g, p, w * pc), generator=gen).float() + C
    step = torch.rand(g, w, generator=gen, dtype=torch.float64) * 2 + 0.3
    inv, inv2 = (1 / step).float(), (1 / step).pow(2).float()
    coef = (2.0 ** (dac * torch.arange(n_x))).float()
    digital = torch.rand(g, w, generator=gen) * 3
    var = (0.2, 0.6) if noisy else (0.0, 0.0)
    args = (view, dac, n_x, weights, inv, inv2, *var, (13, 2) if noisy else None, 31, coef)
    return args + (digital,), (g, m, w, pc)


def test_binary_bits_mark_the_larger_value_and_reject_three_values():
    gen = torch.Generator().manual_seed(1)
    levels = torch.randint(0, 2, (2, 5, 37), generator=gen).float()
    found = read_plan._binary(levels + C)
    assert found is not None
    bits, f0, f1 = found
    assert bits.dtype == torch.int16 and bits.shape == (2, 5, 3)
    assert (f0, f1) == (float(torch.tensor(C)), float(torch.tensor(1 + C)))
    words = bits.to(torch.int32) & 0xFFFF
    decoded = (words.unsqueeze(-1) >> torch.arange(16)) & 1
    assert torch.equal(decoded.flatten(-2)[..., :37], levels.int())
    assert int(decoded.flatten(-2)[..., 37:].sum()) == 0  # padding columns stay clear
    three = levels.clone()
    three[0, 0, 0] = 2.0
    assert read_plan._binary(three) is None
    assert read_plan._binary(levels + torch.rand(levels.shape, generator=gen) * 1e-3) is None
    zeros = levels.clone()
    zeros[zeros == 0] = -0.0
    zeros[0, 0, :2] = torch.tensor([0.0, -0.0])  # both zeros: three values bitwise
    assert read_plan._binary(zeros) is None
    assert read_plan._binary(levels[:, :, 1:]) is None  # not contiguous: not read from bits


@needs_kernel
@pytest.mark.parametrize("dac, pc", [(1, 41), (2, 41), (1, 700)])
@pytest.mark.parametrize("noisy", [False, True])
def test_binary_read_equals_float_read_on_any_thread_count(dac, pc, noisy):
    args, shape = _chunk(dac, noisy, pc)
    binary = read_plan._binary(args[3])
    assert binary is not None
    z0, out0 = torch.empty(shape), torch.ones(shape[1], shape[3])
    clipped0 = kernel.read(*args, z0, out0, n_threads=1)
    assert 0 < clipped0 < z0.numel() * args[2]  # some reads clip, most do not
    for threads in (1, 2, 3):
        z, out = torch.empty(shape), torch.ones(shape[1], shape[3])
        assert kernel.read(*args, z, out, n_threads=threads, binary=binary) == clipped0
        assert torch.equal(z, z0) and torch.equal(out, out0)


@needs_kernel
@pytest.mark.parametrize("binary", [False, True])
def test_reads_of_parts_of_a_chunk_add_up_to_the_whole_chunk(binary):
    """``rows``: each part of a chunk's vectors gets the numbers it has in the whole chunk
    (noise indices included), so threads may split a bucket's vectors anywhere."""
    args, (g, m, w, pc) = _chunk(1, True, 300)
    bits = read_plan._binary(args[3]) if binary else None
    z0, out0 = torch.empty(g, m, w, pc), torch.ones(m, pc)
    clipped0 = kernel.read(*args, z0, out0, n_threads=1, binary=bits)
    z, out, clipped = torch.full((g, m, w, pc), float("nan")), torch.ones(m, pc), 0
    for part in ((0, 7), (7, 8), (8, m)):
        clipped += kernel.read(*args, z, out, n_threads=2, binary=bits, rows=part)
    assert clipped == clipped0
    assert torch.equal(z, z0) and torch.equal(out, out0)
    with pytest.raises(ValueError, match="rows"):
        kernel.read(*args, z, out, rows=(5, 5))


@needs_kernel
def test_binary_read_of_the_portable_build_without_float_cells(tmp_path):
    """The portable C path (no AVX-512 / AVX2) sums the bits alone with the same numbers."""
    lib_path = tmp_path / "generic.so"
    cc = kernel._compiler()
    assert cc is not None
    cmd = [*cc.split(), *kernel.CFLAGS, "-DCIM_GENERIC", str(kernel.SOURCE), *kernel.LIBS]
    subprocess.run([*cmd, "-o", str(lib_path)], check=True, capture_output=True)
    generic = kernel.bind(ctypes.CDLL(str(lib_path)))
    for dac in (1, 2):
        args, (g, m, w, pc) = _chunk(dac, True, 41)
        codes, _, n_x, weights, inv, inv2, rv, ov, (key, call), kmax, coef, d = args
        bits, f0, f1 = read_plan._binary(weights)
        z0, out0 = torch.empty(g, m, w, pc), torch.ones(m, pc)
        clipped0 = kernel.read(*args, z0, out0, n_threads=1)
        z, out = torch.empty(g, m, w, pc), torch.ones(m, pc)
        clipped = generic.cim_read_binary(
            codes.data_ptr(), g, m, codes.shape[2], codes.stride(0), codes.stride(1), n_x, dac,
            None, bits.data_ptr(), f0, f1, w, pc, inv.data_ptr(), inv2.data_ptr(), rv, ov, 1,
            key, call, kernel.normal_table().data_ptr(), float(kmax), coef.data_ptr(),
            d.data_ptr(), z.data_ptr(), out.data_ptr(), 2, 0, m,
        )  # fmt: skip
        assert clipped == clipped0
        assert torch.equal(z, z0) and torch.equal(out, out0)


@needs_kernel
@pytest.mark.parametrize("threads", [1, 2])
def test_engine_reads_one_bit_cells_from_bits_with_the_same_numbers(monkeypatch, threads):
    torch.manual_seed(0)
    layer = torch.nn.Linear(300, 20)
    sim = sim_config(bitcell=1, dac_precision=1, adc_precision=5, sub_array=(128, 64))
    sim.update(read_noise=0.02, output_noise=0.5)
    eng = LayerEngine("l", layer, {"input_min": 0.0, "input_max": 4.0, "weight_max": 0.1}, sim)
    assert eng.c > 0  # the off-state baseline: partial sums round in the kernel's row order
    chip = eng.program(torch.Generator().manual_seed(2))
    assert all(read_plan.binary_cells(w) is not None for w in chip.bucket_weights)
    codes = torch.randint(0, 256, (40, 300), generator=torch.Generator().manual_seed(3)).float()
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        new = eng.mvm(codes, chip, NoiseStream(torch.Generator().manual_seed(7), "cpu"))
        monkeypatch.setattr(read_plan, "binary_cells", lambda w: None)
        base = eng.mvm(codes, chip, NoiseStream(torch.Generator().manual_seed(7), "cpu"))
    finally:
        torch.set_num_threads(old)
    assert torch.equal(new, base)

"""The counter-based noise stream and the compiled read-path kernel vs. their torch mirror."""

from __future__ import annotations

import ctypes
import math
import os
import subprocess
import sys
from statistics import NormalDist

import pytest
import torch

from cimsweep.cim import kernel, sim_config, streams
from cimsweep.cim.converters import adc_codes_
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import LayerEngine, LayerStats

needs_kernel = pytest.mark.skipif(kernel.library() is None, reason="no C compiler")


def _philox_full(ctr: tuple[int, int, int, int], key: tuple[int, int]) -> list[int]:
    """Philox4x32-10 of a full counter, through the public mirror (x1 folded in via the call)."""
    # the mirror fixes x1 = 0; Random123 known answers with x1 = 0 exist for ctr = 0 only, so
    # check the round function directly on the other vectors
    x = [torch.tensor([c]) for c in ctr]
    a0, a1 = key
    for _ in range(10):
        h0, l0 = streams._mulhilo(0xD2511F53, x[0])
        h1, l1 = streams._mulhilo(0xCD9E8D57, x[2])
        x = [h1 ^ x[1] ^ a0, l1, h0 ^ x[3] ^ a1, l0]
        a0, a1 = (a0 + 0x9E3779B9) & 0xFFFFFFFF, (a1 + 0xBB67AE85) & 0xFFFFFFFF
    return [int(v) for v in x]


@pytest.mark.parametrize(
    "ctr, key, expected",
    [  # Random123 kat_vectors, philox4x32 10
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((2**32 - 1,) * 4, (2**32 - 1,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_known_answers(ctr, key, expected):
    assert _philox_full(ctr, key) == list(expected)
    if ctr[1] == 0:  # the stream's own entry point
        words = kernel.philox(key[0] | key[1] << 32, ctr[2] | ctr[3] << 32, torch.tensor([ctr[0]]))
        assert [int(w) for w in words] == list(expected)


def test_xoshiro128pp_known_answers():
    """First outputs of the reference xoshiro128plusplus.c from state (0, 1, 2, 3); an all-zero
    state is replaced by (1, 0, 0, 0) instead of sticking at zero."""
    state = [torch.tensor([v, 0]) for v in (0, 1, 2, 3)]
    state[0][1], state[1][1] = 1, 0  # second lane: (1, 0, 0, 0)
    out = kernel.xoshiro(state, 4)
    assert out[:, 0].tolist() == [384, 524546, 1075056769, 2828078338]
    zero = kernel.xoshiro([torch.zeros(1, dtype=torch.int64)] * 4, 4)
    assert torch.equal(zero[:, 0], out[:, 1]) and bool((zero != 0).all())


def test_mulhilo_matches_exact_product():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2**32, (10000,), generator=g, dtype=torch.int64)
    hi, lo = streams._mulhilo(0xD2511F53, x)
    for xi, h, lo_i in zip(x[:200].tolist(), hi[:200].tolist(), lo[:200].tolist(), strict=True):
        assert divmod(0xD2511F53 * xi, 2**32) == (h, lo_i)


def test_sqrt_is_correctly_rounded():
    x = torch.rand(200000, generator=torch.Generator().manual_seed(1)) * 40
    r = kernel.sqrt_rn(x).double()
    exact = torch.sqrt(x.double())
    up = torch.nextafter(r.float(), torch.full_like(x, math.inf)).double()
    down = torch.nextafter(r.float(), torch.zeros_like(x)).double()
    err = (r - exact).abs()
    assert bool((err <= (up - exact).abs()).all()) and bool((err <= (down - exact).abs()).all())


@needs_kernel
@pytest.mark.parametrize("n", [1, 7, 2048, 2049, 100_003])
def test_kernel_normals_equal_torch_mirror(n):
    key, call = 0x1234_5678_9ABC_DEF, 3
    assert torch.equal(kernel.normals(key, call, n), kernel.normals_torch(key, call, n, "cpu"))


def test_normal_table_holds_the_bin_means_of_a_standard_normal():
    t = kernel.normal_table().double()
    c, fine = kernel.COARSE, 2**16
    coarse, low, high = t[:c], t[c : c + 16], t[c + 16 :]
    assert t.numel() == c + 32 and bool((coarse[1:] > coarse[:-1]).all())
    assert torch.equal(coarse, -coarse.flip(0)) and torch.equal(low, -high.flip(0))
    assert bool((high[1:] > high[:-1]).all()) and float(high[0]) > float(coarse[-2])
    # the sampled distribution: inner coarse bins 1/c each, the 32 outer fine bins 1/fine each
    var = float(coarse[1:-1].pow(2).sum()) / c + float(t[c:].pow(2).sum()) / fine
    assert var == pytest.approx(1.0, abs=1e-6)
    std = NormalDist()
    for i in (0, 1, 100, 1500, c // 2, c - 2, c - 1):  # each value lies inside its own bin
        assert i / c <= std.cdf(float(coarse[i])) <= (i + 1) / c
    for j in range(16):
        assert (fine - 16 + j) / fine <= std.cdf(float(high[j])) <= (fine - 15 + j) / fine
    # top bin: E[Z | Z > a] = pdf(a) / (1 - cdf(a)) with a = inv_cdf(1 - 1/fine)
    top = std.pdf(std.inv_cdf(1 - 1 / fine)) * fine
    assert float(t[-1]) == pytest.approx(top, rel=1e-5)


def test_16_bit_values_draw_their_bin_or_their_outer_fine_bin():
    t = kernel.normal_table()
    c = kernel.COARSE
    h = torch.tensor([0, 15, 16, 17, 32768, 65519, 65520, 65535])
    lo, hi = kernel.table_normals(h | (h.flip(0) << 16))
    expected = t[[c, c + 15, 1, 1, c // 2, c - 2, c + 16, c + 31]]
    assert torch.equal(lo, expected) and torch.equal(hi, expected.flip(0))


def test_normals_are_standard_normal():
    z = kernel.normals(987654321, 0, 1000 * kernel.BLOCK).double()
    assert abs(float(z.mean())) < 0.003
    assert float(z.var()) == pytest.approx(1.0, abs=0.003)
    assert float(z.pow(4).mean()) == pytest.approx(3.0, abs=0.03)  # Gaussian kurtosis
    for k, p in ((1, 0.682689), (2, 0.954500), (3, 0.997300)):
        assert float((z.abs() < k).double().mean()) == pytest.approx(p, abs=0.0015)
    assert float(z.abs().max()) <= float(kernel.normal_table()[-1])
    # lags 1 (halves of one word), 2 (next lane), 64 (next output of the same lane)
    for lag in (1, 2, 2 * kernel.LANES):
        pair = torch.stack([z[:-lag:7], z[lag::7]])
        assert abs(float(torch.corrcoef(pair)[0, 1])) < 0.006
        assert abs(float(torch.corrcoef(pair**2)[0, 1])) < 0.006


def test_calls_and_keys_give_independent_streams():
    a = kernel.normals(5, 0, 4096)
    assert not torch.equal(a, kernel.normals(5, 1, 4096))
    assert not torch.equal(a, kernel.normals(6, 0, 4096))
    assert torch.equal(a[:100], kernel.normals(5, 0, 100))  # a prefix of the same stream


def _read_case(
    dac: int, noisy: bool, seed: int = 4, pc: int = 41
) -> tuple[tuple, torch.Tensor, torch.Tensor, int]:
    """Arguments of :func:`kernel.read`, its expected scratch z, output and clip count, computed
    with plain torch ops. Integer weights (exact partial sums); N = 3 * 41 = 123 covers the
    64-, 32-, 16- and 8-wide blocks and the scalar tail; rows straddle noise blocks (and span
    two of them when ``pc`` is large); codes strided."""
    g = torch.Generator().manual_seed(seed)
    n_g, m, p, w, kmax = 2, 45, 21, 3, 31
    n_x = -(-8 // dac)
    codes = torch.randint(0, 256, (m, n_g * p), generator=g, dtype=torch.int32)
    codes[:, :5] = 0  # some rows without a single nonzero slice
    view = codes.unflatten(1, (n_g, p)).transpose(0, 1)  # (G, M, P), strides (P, G * P, 1)
    weights = torch.randint(0, 4, (n_g, p, w * pc), generator=g).float()
    step = torch.rand(n_g, w, generator=g, dtype=torch.float64) * 6 + 0.5
    step[:, 0] = 0.6  # fine steps: some reads clip even without noise
    inv, inv2 = (1 / step).float(), (1 / step).pow(2).float()
    read_var, out_var = (0.3, 0.7) if noisy else (0.0, 0.0)
    stream = (77, 5) if noisy else None
    coef = (2.0 ** (dac * torch.arange(n_x))).float()
    digital = torch.rand(n_g, w, generator=g) * 3
    args = (view.float(), dac, n_x, weights, inv, inv2, read_var, out_var, stream, kmax, coef)
    args += (digital,)
    # reference
    x = torch.stack([(view >> (dac * i)) & (2**dac - 1) for i in range(n_x)], 1).float()
    y = torch.einsum("gxmk,gkn->gxmn", x, weights).view(n_g, n_x, m, w, pc)
    y = y * inv.view(n_g, 1, 1, w, 1)
    if noisy:
        sx2 = x.square().sum(-1).unsqueeze(-1)  # (G, NX, M, 1)
        var = sx2 * inv2.view(n_g, 1, 1, w) * torch.tensor(read_var, dtype=torch.float32)
        sd = kernel.sqrt_rn(var + torch.tensor(out_var, dtype=torch.float32))
        eps = kernel.normals_torch(*stream, y.numel(), "cpu").view(y.shape)
        y = y + eps * sd.unsqueeze(-1)
    clipped = adc_codes_(y, kmax)
    z = torch.einsum("x,gxmwp->gmwp", coef, y)  # exact: integers below 2**24
    out = torch.ones(m, pc)  # read() accumulates into it
    acc = torch.zeros(m, pc)
    for gi in range(n_g):  # the documented order: group, then weight slice
        for wi in range(w):
            acc += z[gi, :, wi] * digital[gi, wi]
    return args, z, out + acc, clipped


@needs_kernel
@pytest.mark.parametrize("dac, pc", [(1, 41), (2, 41), (1, 700)])
@pytest.mark.parametrize("noisy", [False, True])
def test_compiled_read_equals_torch_reference(dac, pc, noisy):
    args, z, expected, ref_clipped = _read_case(dac, noisy, pc=pc)
    scratch, out = torch.empty(z.shape), torch.ones(expected.shape)
    clipped = kernel.read(*args, scratch, out)
    assert clipped == ref_clipped > 0
    assert torch.equal(scratch, z) and torch.equal(out, expected)


@needs_kernel
@pytest.mark.parametrize("threads", [2, 3])
def test_compiled_read_batches_and_threads_keep_the_numbers(threads):
    """N = 2100 partial sums per read: the kernel forms them in batches of 31 reads (its 2**16
    float buffer) and column tiles; 45 reads per group split over threads cut those batches
    elsewhere, and every read still equals the torch reference."""
    args, z, expected, ref_clipped = _read_case(1, True, pc=700)
    scratch, out = torch.empty(z.shape), torch.ones(expected.shape)
    clipped = kernel.read(*args, scratch, out, n_threads=threads)
    assert clipped == ref_clipped > 0
    assert torch.equal(scratch, z) and torch.equal(out, expected)


@needs_kernel
@pytest.mark.parametrize("programmed", [False, True])
def test_engine_gives_the_same_numbers_with_and_without_kernel(monkeypatch, programmed):
    """Integer cell levels: bit-identical. Programming noise: the compiled sums and the torch
    matmul add in different orders, so a read at an ADC threshold may round the other way."""
    g = torch.Generator().manual_seed(2)
    layer = torch.nn.Linear(300, 24)
    cells = dict(prog_noise=0.02) if programmed else dict(rate_stuck_0=0.01, rate_stuck_1=0.01)
    sim = sim_config(read_noise=0.05, output_noise=0.3, adc_precision=4, **cells)
    w_max = float(layer.weight.detach().abs().max())
    rng = {"weight_max": w_max, "input_min": 0.0, "input_max": 1.0}
    eng = LayerEngine("fc", layer, rng, sim)
    codes = torch.randint(0, 256, (70, 300), generator=g).float()
    runs = []
    for fused in (True, False):
        monkeypatch.setattr(kernel, "fused", lambda device, f=fused: f)
        gen = torch.Generator().manual_seed(9)
        stats = LayerStats()
        t = eng.mvm(codes, eng.program(gen), NoiseStream(gen, "cpu"), stats)
        runs.append((t, stats.clipped))
    (a, clip_a), (b, clip_b) = runs
    assert clip_a > 0
    if not programmed:
        assert clip_a == clip_b and torch.equal(a, b)
        return
    assert abs(clip_a - clip_b) <= 0.001 * stats.reads
    assert float(((a - b).abs() > 1e-5 * float(a.abs().max())).float().mean()) < 0.02


@pytest.mark.parametrize("dac", [1, 2, 3])
@pytest.mark.parametrize("fused", [True, False])
def test_dac_slices_on_strided_codes(monkeypatch, dac, fused):
    if fused and kernel.library() is None:
        pytest.skip("no C compiler")
    monkeypatch.setattr(kernel, "fused", lambda device: fused)
    g = torch.Generator().manual_seed(dac)
    codes = torch.randint(0, 256, (40, 3 * 17), generator=g, dtype=torch.int32)
    view = codes.unflatten(1, (3, 17)).transpose(0, 1)  # (G, M, P), strides (17, 51, 1)
    n_x = -(-8 // dac)
    x, sx2 = kernel.dac_slices(view, dac, n_x, power=True)
    assert x.shape == (3, n_x, 40, 17) and x.dtype == torch.float32
    weights = (2 ** (dac * torch.arange(n_x))).view(1, n_x, 1, 1)
    assert torch.equal((x.long() * weights).sum(1), view.long())  # slices reassemble codes
    assert int(x.max()) <= 2**dac - 1
    assert torch.equal(sx2, x.square().sum(-1))


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        capture_output=True, text=True, env={**os.environ, **env}, check=True,
    )  # fmt: skip


_SAME_NUMBERS = (
    "import torch; from cimsweep.cim import kernel; "
    "print(kernel.library() is not None); "
    "torch.save(kernel.normals(11, 2, 5000), {out!r})"
)


@needs_kernel
def test_build_into_fresh_cache_and_fallback_without_compiler(tmp_path):
    cache = tmp_path / "cache"
    built = _run(_SAME_NUMBERS.format(out=str(tmp_path / "a.pt")), CIMSWEEP_KERNEL_DIR=str(cache))
    assert built.stdout.strip() == "True"
    assert [p.suffix for p in cache.iterdir()] == [".so"]  # no temporary left behind
    missing = _run(
        _SAME_NUMBERS.format(out=str(tmp_path / "b.pt")),
        CIMSWEEP_KERNEL_DIR=str(tmp_path / "other"), CC="/nonexistent/cc",
    )  # fmt: skip
    assert missing.stdout.strip() == "False"
    assert "no C compiler found" in missing.stderr
    assert torch.equal(torch.load(tmp_path / "a.pt"), torch.load(tmp_path / "b.pt"))
    off = _run("from cimsweep.cim import kernel; print(kernel.library())", CIMSWEEP_KERNEL="0")
    assert off.stdout.strip() == "None" and "Warning" not in off.stderr


@needs_kernel
def test_generic_build_matches_torch_mirror(tmp_path, monkeypatch):
    """The portable C paths (no AVX2: other CPUs) give the same numbers as the mirror."""
    lib_path = tmp_path / "generic.so"
    cc = kernel._compiler()
    cmd = [*cc.split(), *kernel.CFLAGS, "-DCIM_GENERIC", str(kernel.SOURCE), *kernel.LIBS]
    cmd += ["-o", str(lib_path)]
    subprocess.run(cmd, check=True, capture_output=True)
    generic = kernel.bind(ctypes.CDLL(str(lib_path)))
    monkeypatch.setattr(kernel, "library", lambda: generic)
    key, call = 0xFEDC_BA98_7654_321, 9
    mirror = kernel.normals_torch(key, call, 5000, "cpu")
    assert torch.equal(kernel.normals(key, call, 5000), mirror)
    for dac, noisy in ((1, True), (2, True), (1, False)):
        args, z, expected, ref_clipped = _read_case(dac, noisy, seed=8)
        scratch, out = torch.empty(z.shape), torch.ones(expected.shape)
        assert kernel.read(*args, scratch, out) == ref_clipped
        assert torch.equal(scratch, z) and torch.equal(out, expected)

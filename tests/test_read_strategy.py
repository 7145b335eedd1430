"""Read strategies (cimsweep.cim.read_plan): the dense read (BLAS partial sums + compiled pass)
gives bit for bit the sparse kernel's numbers, and neither depends on the thread count."""

from __future__ import annotations

import pytest
import torch

from cimsweep.cim import kernel, read_plan, sim_config
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import LayerEngine, LayerStats

needs_kernel = pytest.mark.skipif(kernel.library() is None, reason="no C compiler")


def _chunk(dac: int, noisy: bool, seed: int = 3, g: int = 2, m: int = 37, p: int = 29):
    """Arguments of kernel.read (integer weights, strided codes, some clipping) minus z, out."""
    gen = torch.Generator().manual_seed(seed)
    n_x, w, pc = -(-8 // dac), 3, 150  # N = 450 straddles noise blocks of 2048
    codes = torch.randint(0, 256, (m, g * p), generator=gen).float()
    codes[:, :4] = 0
    view = codes.unflatten(1, (g, p)).transpose(0, 1)  # (G, M, P), unit stride along P only
    weights = torch.randint(0, 8, (g, p, w * pc), generator=gen).float()
    step = torch.rand(g, w, generator=gen, dtype=torch.float64) * 8 + 0.5
    inv, inv2 = (1 / step).float(), (1 / step).pow(2).float()
    coef = (2.0 ** (dac * torch.arange(n_x))).float()
    digital = torch.rand(g, w, generator=gen) * 3
    var = (0.2, 0.6) if noisy else (0.0, 0.0)
    args = (view, dac, n_x, weights, inv, inv2, *var, (91, 4) if noisy else None, 31, coef)
    return args + (digital,), (g, m, w, pc)


@needs_kernel
@pytest.mark.parametrize("dac", [1, 2, 4, 8])
@pytest.mark.parametrize("noisy", [False, True])
def test_dense_read_equals_sparse_kernel_on_any_thread_count(dac, noisy):
    args, (g, m, w, pc) = _chunk(dac, noisy)
    results = []
    for fn, threads in ((kernel.read, 1), (kernel.read, 3), (read_plan.read_dense, 1), (None, 2)):
        z, out = torch.empty(g, m, w, pc), torch.ones(m, pc)
        if fn is None:  # dense on 2 threads (the compiled pass); BLAS keeps torch's threads
            old = torch.get_num_threads()
            torch.set_num_threads(threads)
            try:
                clipped = read_plan.read_dense(*args, z, out)
            finally:
                torch.set_num_threads(old)
        elif fn is kernel.read:
            clipped = kernel.read(*args, z, out, n_threads=threads)
        else:
            clipped = fn(*args, z, out)
        results.append((clipped, z, out))
    clip0, z0, out0 = results[0]
    assert clip0 > 0 and not torch.equal(out0, torch.ones_like(out0))
    for clipped, z, out in results[1:]:
        assert clipped == clip0 and torch.equal(z, z0) and torch.equal(out, out0)


@needs_kernel
def test_read_sums_rejects_noise_without_power_and_dense_guards_exactness():
    args, (g, m, w, pc) = _chunk(2, True)
    y = torch.zeros(g, args[2], m, w * pc)
    z, out = torch.empty(g, m, w, pc), torch.zeros(m, pc)
    with pytest.raises(ValueError, match="input power"):
        kernel.read_sums(y, None, *args[4:8], (1, 2), 31, *args[10:], z, out)
    big = list(args)
    big[3] = args[3] * 2.0**20  # partial sums of 29 rows reach 2**24: not exact in float32
    with pytest.raises(ValueError, match="2\\*\\*24"):
        read_plan.read_dense(*big, z, out)


def test_choice_is_a_pure_function_of_settings_and_exactness():
    w_int = torch.randint(0, 4, (2, 512, 64)).float()

    def dense(rows: int, dac: int, w: torch.Tensor, baseline: float = 0.0, **kw) -> bool:
        levels = read_plan.choose(rows, dac, w, baseline, **kw)
        assert levels is None or torch.equal(levels + baseline, w)
        return levels is not None

    assert not dense(512, 1, w_int)  # bit-serial: the sparse kernel's adds
    assert dense(512, 8, w_int) and not dense(256, 8, w_int) and not dense(512, 4, w_int)
    assert not dense(16, 8, w_int)  # short reads
    assert not dense(512, 8, w_int + 0.125, 0.125)  # a baseline: other numbers, not by itself
    assert dense(512, 8, w_int + 0.125, 0.125, force="dense")  # integer levels + a baseline
    assert not dense(512, 8, w_int + 0.125)  # fractional cells, no baseline: not exact
    assert not dense(512, 8, w_int * 1.001, 0.0)  # programmed (non-integer) cells
    assert dense(16, 1, w_int, force="dense")
    assert not dense(512, 8, w_int * 2.0**14, force="dense")  # sums may reach 2**24
    with pytest.raises(ValueError, match="read strategy"):
        read_plan.choose(16, 1, w_int, force="blas")


SETTINGS = [
    dict(bitcell=1, dac_precision=1, sub_array=64, parallel_read=0),
    dict(bitcell=2, dac_precision=2, sub_array=128, parallel_read=16),
    dict(bitcell=4, dac_precision=4, sub_array=256, parallel_read=0),
    dict(bitcell=7, dac_precision=8, sub_array=64, parallel_read=32),
    dict(bitcell=1, dac_precision=8, sub_array=256, parallel_read=0, signed_mapping="offset"),
]


def _engine_runs(over: dict, noisy: bool, strategies: tuple[str, ...], threads: int = 0):
    noise = dict(read_noise=0.05, output_noise=0.3, rate_stuck_0=0.01) if noisy else {}
    sim = sim_config(adc_precision=5, **over, **noise)
    layer = torch.nn.Linear(300, 40)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(40, 300, generator=torch.Generator().manual_seed(2)))
    rng = {"weight_max": float(layer.weight.detach().abs().max()), "input_min": 0.0}
    eng = LayerEngine("fc", layer, {**rng, "input_max": 1.0}, sim)
    codes = torch.randint(0, 256, (50, 300), generator=torch.Generator().manual_seed(1)).float()
    codes[codes < 90] = 0  # ReLU-like zeros
    runs = []
    old = torch.get_num_threads()
    for strategy in strategies:
        eng.read_strategy = strategy
        gen = torch.Generator().manual_seed(5)
        chip = eng.program(gen)
        assert chip.effective is None and chip.bucket_weights
        for w in chip.bucket_weights:  # integer cells: the dense path really runs
            levels = read_plan.choose(w.shape[1], eng.dac, w, eng.c, strategy)
            assert (levels is not None) == (strategy == "dense")
        stats = LayerStats()
        torch.set_num_threads(threads or old)
        try:
            runs.append((eng.mvm(codes, chip, NoiseStream(gen, "cpu"), stats), stats.clipped))
        finally:
            torch.set_num_threads(old)
    return runs, stats.reads


@needs_kernel
@pytest.mark.parametrize("over", SETTINGS)
@pytest.mark.parametrize("noisy", [False, True])
def test_engine_dense_and_sparse_reads_are_bit_identical(over, noisy):
    """No off-state baseline (subtracted in analog): exact integer partial sums."""
    runs, _ = _engine_runs({**over, "off_current": "subtract"}, noisy, ("sparse", "dense"))
    (a, clip_a), (b, clip_b) = runs
    assert clip_a == clip_b and torch.equal(a, b)
    assert float(a.abs().max()) > 0


@needs_kernel
@pytest.mark.parametrize("noisy", [False, True])
def test_dense_reads_with_baseline_agree_and_ignore_threads(noisy):
    """Default off-state baseline: the dense read adds it once per read (float32 rounding
    apart from the sparse kernel's running sum), on 1 or 2 threads alike."""
    over = SETTINGS[2]
    one, reads = _engine_runs(over, noisy, ("sparse", "dense"), threads=1)
    two, _ = _engine_runs(over, noisy, ("sparse", "dense"), threads=2)
    for (a, clip_a), (b, clip_b) in zip(one, two, strict=True):
        assert clip_a == clip_b and torch.equal(a, b)  # threads never change the numbers
    (sparse, clip_s), (dense, clip_d) = one
    assert abs(clip_s - clip_d) <= 0.001 * reads
    flipped = ((sparse - dense).abs() > 1e-4 * float(sparse.abs().max())).float().mean()
    assert float(flipped) < 0.02 and float(sparse.abs().max()) > 0


@needs_kernel
@pytest.mark.parametrize("noisy", [False, True])
def test_sparse_chunks_on_threads_of_their_own_keep_the_numbers(monkeypatch, noisy):
    """Small chunks (several read groups and vector chunks per bucket): runs of vector chunks
    on 2 or 3 Python threads (.bucket_read) give one thread's outputs, clip counts and noise
    call count bit for bit."""
    from cimsweep.cim import bucket_read

    noise = dict(read_noise=0.05, output_noise=0.3) if noisy else {}
    sim = sim_config(adc_precision=5, sub_array=64, **noise)
    layer = torch.nn.Linear(300, 40)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(40, 300, generator=torch.Generator().manual_seed(2)))
    rng = {"weight_max": float(layer.weight.detach().abs().max()), "input_min": 0.0}
    eng = LayerEngine("fc", layer, {**rng, "input_max": 1.0}, sim)
    chunks = eng.chunks
    monkeypatch.setattr(eng, "chunks", lambda g, m, n_x=None: chunks(g, m, 3 * 4096, n_x))
    assert eng.chunks(4, 50)[0] < 4 and eng.chunks(4, 50)[1] < 50 / 3  # chunked both ways
    codes = torch.randint(0, 256, (50, 300), generator=torch.Generator().manual_seed(1)).float()
    codes[codes < 90] = 0
    split = []
    real = bucket_read.map_runs
    monkeypatch.setattr(bucket_read, "map_runs", lambda f, r: split.append(len(r)) or real(f, r))
    results, old = [], torch.get_num_threads()
    for threads in (1, 2, 3):
        gen = torch.Generator().manual_seed(5)
        chip, stream, stats = eng.program(gen), NoiseStream(gen, "cpu"), LayerStats()
        torch.set_num_threads(threads)
        try:
            results.append((eng.mvm(codes, chip, stream, stats), stats.clipped, stream.calls))
        finally:
            torch.set_num_threads(old)
    assert split and max(split) == 3  # the threaded runs really ran
    out0, clip0, calls0 = results[0]
    assert float(out0.abs().max()) > 0 and (calls0 > 4) == noisy
    for out, clipped, calls in results[1:]:
        assert torch.equal(out, out0) and clipped == clip0 and calls == calls0


def test_monte_carlo_instances_reuse_the_first_layers_codes_and_reference(monkeypatch):
    """The same batch on chip after chip: codes and digital reference computed twice (then
    kept), outputs and SNR statistics as without the memo; fresh inputs are never kept."""
    from cimsweep.cim import layers

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(30, 20), torch.nn.ReLU(), torch.nn.Linear(20, 5))
    rng = {"weight_max": 1.0, "input_min": 0.0, "input_max": 1.0}
    sim = sim_config(read_noise=0.05, adc_precision=5)
    x = torch.rand(40, 30, generator=torch.Generator().manual_seed(3))

    def run(memo: int) -> tuple[list[torch.Tensor], list[tuple[float, float]], int]:
        monkeypatch.setattr(layers, "MEMO_ELEMENTS", memo)
        cm = layers.convert(model, {"0": rng, "2": rng}, sim)
        first = layers.cim_modules(cm)[0].engine
        calls = []
        real = first.reference
        monkeypatch.setattr(first, "reference", lambda c: calls.append(1) or real(c))
        outs = []
        with torch.no_grad():
            for i in range(4):
                layers.program(cm, torch.Generator().manual_seed(i))
                outs.append(cm(x))
        stats = [(m.stats.signal, m.stats.error) for m in layers.cim_modules(cm)]
        assert layers.cim_modules(cm)[1]._memo is None  # the second layer's inputs are fresh
        return outs, stats, len(calls)

    kept, stats_kept, calls_kept = run(1 << 24)
    fresh, stats_fresh, calls_fresh = run(0)
    assert (calls_kept, calls_fresh) == (2, 4)
    assert all(torch.equal(a, b) for a, b in zip(kept, fresh, strict=True))
    assert stats_kept == stats_fresh and stats_kept[0][1] > 0


def test_a_calibration_pass_drops_the_kept_codes():
    """Kept codes belong to one input scale: a calibration forward (which may change it)
    drops them, and the next chip instance forms its codes afresh from the new scale."""
    from cimsweep.cim import layers

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(30, 20))
    rng = {"weight_max": 1.0, "input_min": 0.0, "input_max": 1.0}
    cm = layers.convert(model, {"0": rng}, sim_config(adc_precision=5))
    layer = layers.cim_modules(cm)[0]
    x = torch.rand(40, 30, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for i in range(2):
            layers.program(cm, torch.Generator().manual_seed(i))
            cm(x)
        assert layer._memo is not None  # the same batch twice: kept
        layers.set_mode(cm, "quant")
        cm(x)
        assert layer._memo is None and layer._seen is None
        layers.set_mode(cm, "cim")
        cm(x)
        assert layer._memo is None  # seen once since: formed afresh, not kept yet


@needs_kernel
@pytest.mark.parametrize("noisy", [False, True])
def test_baseline_share_is_added_once_per_read(noisy):
    """read_sums with a baseline == read_sums of y + float32(c * sum x) formed beforehand, and
    slice_stats gives the slices, powers and sums of the codes."""
    args, (g, m, w, pc) = _chunk(4, noisy)
    codes, dac, n_x, weights = args[:4]
    x, sx2, sx = kernel.slice_stats(codes, dac, n_x, True, True, True)
    ref = torch.stack([(codes.long() >> (dac * i)) & (2**dac - 1) for i in range(n_x)], 1)
    assert torch.equal(x, ref.float())
    assert torch.equal(sx2, ref.square().sum(-1).float()) and torch.equal(sx, ref.sum(-1).float())
    y = torch.einsum("gxmk,gkn->gxmn", x, weights).contiguous()  # exact integers
    c = 0.0101
    shifted = y + (sx * c).unsqueeze(-1)
    results = []
    for ys, base in ((shifted, None), (y, (sx, c))):
        z, out = torch.empty(g, m, w, pc), torch.zeros(m, pc)
        clipped = kernel.read_sums(ys, sx2, *args[4:], z, out, baseline=base)
        results.append((clipped, z, out))
    (c0, z0, o0), (c1, z1, o1) = results
    assert c0 == c1 and torch.equal(z0, z1) and torch.equal(o0, o1) and float(o0.abs().max()) > 0

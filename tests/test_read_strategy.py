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
    dict(
        bitcell=2,
        dac_precision=4,
        sub_array=128,
        signed_mapping="offset",
        offset_reference="digital",
    ),
]


def _engine_runs(
    over: dict, noisy: bool, strategies: tuple[str, ...], threads: int = 0, batch: int = 50
):
    noise = dict(read_noise=0.05, output_noise=0.3, rate_stuck_0=0.01) if noisy else {}
    sim = sim_config(adc_precision=5, **over, **noise)
    layer = torch.nn.Linear(300, 40)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(40, 300, generator=torch.Generator().manual_seed(2)))
    rng = {"weight_max": float(layer.weight.detach().abs().max()), "input_min": 0.0}
    eng = LayerEngine("fc", layer, {**rng, "input_max": 1.0}, sim)
    gen_c = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 256, (batch, 300), generator=gen_c).float()
    codes[codes < 90] = 0  # ReLU-like zeros
    runs = []
    old = torch.get_num_threads()
    for strategy in strategies:
        eng.read_strategy = strategy
        gen = torch.Generator().manual_seed(5)
        chip = eng.program(gen)
        assert chip.effective is None and chip.bucket_weights
        for w in chip.bucket_weights:  # integer cells: the dense path really runs
            if strategy == "bits":
                got = read_plan.plan(w.shape[1], eng.dac, w, eng.c, strategy)
                assert got is not None and got.planes is not None
                continue
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
    gen_c = torch.Generator().manual_seed(1)
    codes = torch.randint(0, 256, (50, 300), generator=gen_c).float()
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


def _float_chunk(dac: int, noisy: bool, fine: bool = False, g: int = 2, m: int = 41, p: int = 96):
    """kernel.read arguments with programmed (float) cells and 8-bit codes, minus z and out:
    a 5-bit ADC over the range of the reads, or with ``fine`` a unit step (2**22 codes), fine
    enough for float32 rounding to move reads across thresholds."""
    gen = torch.Generator().manual_seed(4)
    n_x, w, pc = -(-8 // dac), 2, 160
    codes = torch.randint(0, 256, (m, g * p), generator=gen).float()
    codes[codes < 60] = 0  # ReLU-like zeros
    view = codes.unflatten(1, (g, p)).transpose(0, 1)
    levels = torch.randint(0, 128, (g, p, w * pc), generator=gen).float()
    weights = (levels + torch.randn(levels.shape, generator=gen) * 2.5).clamp_(min=0) + 1.28
    top = (2**dac - 1) * float(weights.sum(1).max()) / 2  # about the largest reads
    step = torch.full((g, w), 1.0 if fine else top / 31, dtype=torch.float64)
    inv, inv2 = (1 / step).float(), (1 / step).pow(2).float()
    coef = (2.0 ** (dac * torch.arange(n_x))).float()
    digital = torch.rand(g, w, generator=gen) * 3
    var = (0.2, 0.6) if noisy else (0.0, 0.0)
    kmax = 2**22 if fine else 31
    args = (view, dac, n_x, weights, inv, inv2, *var, (17, 9) if noisy else None, kmax, coef)
    return args + (digital,), (g, m, w, pc)


def _row_order_sums(codes: torch.Tensor, dac: int, n_x: int, weights: torch.Tensor):
    """The sparse kernel's partial sums (G, NX, M, N): float32 products added in row order."""
    x = torch.stack([(codes.long() >> (dac * i)) & (2**dac - 1) for i in range(n_x)], 1).float()
    y = torch.zeros(*x.shape[:3], weights.shape[2])
    for k in range(weights.shape[1]):  # y + (+0) is y: zero slices change nothing
        y = y + x[..., k : k + 1] * weights[:, None, k : k + 1, :]
    return x, y


@needs_kernel
@pytest.mark.parametrize("dac, fine", [(8, False), (4, False), (8, True)])
def test_float_cells_blas_sums_agree_to_rounding_and_flip_only_at_adc_thresholds(dac, fine):
    """Programmed cells: BLAS partial sums are the sparse kernel's to float32 rounding, and a
    read's ADC code differs only where the two sums straddle an ADC threshold (counted: none
    or next to none with a 5-bit ADC; with a unit-step ADC, some, each at a threshold)."""
    args, (g, m, w, pc) = _float_chunk(dac, False, fine)
    codes, _, n_x, weights, inv = args[:5]
    x, y_seq = _row_order_sums(codes, dac, n_x, weights)
    runs = {}
    for name in ("sparse", "replay", "blas"):
        z, out = torch.zeros(g, m, w, pc), torch.zeros(m, pc)
        if name == "sparse":
            clipped = kernel.read(*args, z, out)
        elif name == "replay":  # the emulated row-order sums through the same compiled pass
            sx2 = x.square().sum(-1)
            clipped = kernel.read_sums(y_seq.contiguous(), sx2, *args[4:], z, out)
        else:
            clipped = read_plan.read_dense(*args, z, out, exact=False)
        runs[name] = (clipped, z, out)
    assert torch.equal(runs["sparse"][1], runs["replay"][1])  # the emulation is the kernel's
    y_blas = torch.bmm(x.flatten(1, 2), weights).view_as(y_seq)
    bound = (x.flatten(1, 2) @ weights).abs().view_as(y_seq) * (weights.shape[1] * 2.0**-23)
    diff = (y_blas - y_seq).abs()
    assert bool((diff <= bound).all()) and float(diff.max()) > 0  # rounding, not identical
    # ADC codes per read: with one input slice z is the code itself
    codes_s, codes_b = runs["sparse"][1], runs["blas"][1]
    if n_x == 1:
        flips = codes_s != codes_b
        assert bool(((codes_s - codes_b).abs()[flips] == 1).all())
        v = (y_seq[:, 0] * inv.view(g, 1, w, 1).repeat_interleave(pc, -1).flatten(2)).view(
            g, m, w, pc
        )
        gap = ((v - v.floor()) - 0.5).abs()  # distance of the read to the nearest threshold
        tol = bound[:, 0].view(g, m, w, pc) * float(inv.max()) * 2
        assert bool((gap[flips] <= tol[flips]).all())  # every flip sits at a threshold
        n_flips = int(flips.sum())
    else:
        n_flips = int((codes_s != codes_b).sum())
    clipped = runs["sparse"][0]
    assert 0 < clipped < 0.2 * codes_s.numel() * n_x or fine  # codes mostly in range
    if fine:  # rounding-level sums: many reads are within an ulp or two of a threshold
        assert 0 < n_flips < 0.5 * codes_s.numel()
    else:
        assert n_flips <= 0.001 * codes_s.numel()  # 5 bits: one read in 1000 or fewer
    assert abs(clipped - runs["blas"][0]) <= n_flips


@needs_kernel
def test_float_cells_dense_reads_are_deterministic_on_any_thread_count():
    """The float BLAS read: the same numbers on 1 and 2 threads and on a repeat."""
    args, (g, m, w, pc) = _float_chunk(8, True)
    results = []
    old = torch.get_num_threads()
    for threads in (1, 2, 1):
        torch.set_num_threads(threads)
        try:
            z, out = torch.empty(g, m, w, pc), torch.ones(m, pc)
            results.append((read_plan.read_dense(*args, z, out, exact=False), z, out))
        finally:
            torch.set_num_threads(old)
    for clipped, z, out in results[1:]:
        assert clipped == results[0][0] and torch.equal(z, results[0][1])
        assert torch.equal(out, results[0][2])


def test_plan_takes_blas_for_float_cells_where_measured_faster():
    """plan(): exact levels as choose(); float cells (and integer levels plus a baseline) by
    the float crossover; force overrides it; a pure function of settings and cells."""
    w_int = torch.randint(0, 4, (2, 512, 64)).float()
    w_float = w_int + torch.rand(w_int.shape) * 0.1
    exact = read_plan.plan(512, 8, w_int)
    assert exact is not None and (exact.baseline, exact.exact) == (0.0, True)
    assert torch.equal(exact.matrix, w_int) and torch.equal(exact[1:].matrix, w_int[1:])
    assert read_plan.plan(256, 8, w_int) is None  # exact crossover: 512 rows
    for bits, corners in read_plan.FLOAT_DENSE_MIN:  # at each measured corner: BLAS
        for rows, n in corners:
            w = torch.rand(1, rows, max(n, 8)) * 3 + 0.01
            got = read_plan.plan(rows, bits, w)
            assert got == read_plan.Dense(w, 0.0, False)
            assert read_plan.plan(rows, 1, w) is None  # bit-serial slices: sparse adds
            others = [c for c in corners if c != (rows, n)]
            if n > 0 and not any(rows >= r and n - 1 >= c for r, c in others):
                assert read_plan.plan(rows, bits, w[..., : n - 1]) is None  # fewer sums
    w_wide = torch.rand(1, 512, 1024) * 3
    assert read_plan.strategy(512, 8, False, 1024) == "dense"  # the aihwkit Linear 512x512
    assert read_plan.plan(512, 1, w_wide) is None  # bit-serial: sparse adds
    assert read_plan.plan(64, 8, w_wide[:, :64, :256]) is None  # short reads, few columns
    w_int = torch.randint(0, 4, (2, 512, 512)).float()
    based = read_plan.plan(512, 8, w_int + 0.25, 0.25)
    assert based is not None and (based.baseline, based.exact) == (0.25, True)
    assert torch.equal(based.matrix, w_int)
    assert read_plan.plan(512, 8, w_float, force="sparse") is None
    forced = read_plan.plan(16, 1, w_float, force="dense")
    assert forced is not None and not forced.exact and forced.matrix is w_float
    again = read_plan.plan(512, 8, w_int + 0.25, 0.25)  # cached per tensor: same answer
    assert again is not None and torch.equal(again.matrix, based.matrix)
    with pytest.raises(ValueError, match="read strategy"):
        read_plan.plan(16, 1, w_int, force="blas")


@needs_kernel
def test_a_dense_plan_carries_its_own_baseline():
    """read_dense of a Dense plan uses the plan's baseline and exactness, whatever the caller
    passes (the engine passes its off-state baseline): an integer baseline of 1 makes the
    cells integers, read exactly with baseline 0."""
    args, (g, m, w, pc) = _chunk(8, True)
    cells = args[3] + 1.0  # integer cells: levels + a baseline of 1
    runs = []
    for dense in (None, read_plan.plan(args[3].shape[1], 8, cells, 1.0, force="dense")):
        z, out = torch.empty(g, m, w, pc), torch.zeros(m, pc)
        a = (*args[:3], cells if dense is None else dense, *args[4:])
        clipped = (
            kernel.read(*a, z, out)
            if dense is None
            else read_plan.read_dense(*a, z, out, baseline=1.0)
        )
        runs.append((clipped, out))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])
    assert float(runs[0][1].abs().max()) > 0


@needs_kernel
def test_engine_programmed_cells_take_blas_reads_close_to_the_sparse_kernel():
    """Programming noise and PCM drift with compensation (the aihwkit comparison's setting,
    small): dense (chosen) and sparse (forced) outputs agree except at ADC thresholds."""
    sim = sim_config(
        adc_precision=8, dac_precision=8, bitcell=7, sub_array=(512, 512), parallel_read=0,
        signed_mapping="differential", read_noise=0.02, prog_noise=0.02, drift_model="pcm",
        t=86400.0, v=0.05, nu_std=0.01, drift_compensation=1,
    )  # fmt: skip
    layer = torch.nn.Linear(512, 48)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(48, 512, generator=torch.Generator().manual_seed(2)))
    rng = {"weight_max": float(layer.weight.detach().abs().max()), "input_min": 0.0}
    eng = LayerEngine("fc", layer, {**rng, "input_max": 1.0}, sim)
    codes = torch.randint(0, 256, (64, 512), generator=torch.Generator().manual_seed(1)).float()
    chip = eng.program(torch.Generator().manual_seed(5))
    assert chip.scale is not None and chip.n0 is None  # drift once per instance, compensated
    w = chip.bucket_weights[0]
    dense = read_plan.plan(w.shape[1], eng.dac, w, eng.c)
    assert dense is not None and not dense.exact  # float BLAS by itself
    outs = {}
    for strategy in (None, "sparse", None):
        eng.read_strategy = strategy
        stats = LayerStats()
        noise = NoiseStream(torch.Generator().manual_seed(7), "cpu")
        outs.setdefault(strategy, []).append(eng.mvm(codes, chip, noise, stats))
    dense, sparse = outs[None], outs["sparse"][0]
    assert torch.equal(dense[0], dense[1])  # deterministic
    step = float((eng.step * eng.map.slice_weights()).max())  # one ADC code in output units
    err = (dense[0] - sparse).abs()
    assert float(err.max()) <= 2 * step + 1e-3 * float(sparse.abs().max())
    assert float((err > 1e-3).float().mean()) < 0.05 and float(sparse.abs().max()) > 0


@pytest.mark.parametrize("rows, m, zero", [(300, 50, 0), (300, 1, 7), (1200, 33, 0), (27, 5, 3)])
def test_digital_reference_by_int8_gemm_is_exact(rows, m, zero):
    """The int8 reference: the exact integers (float32 rounded once); where the float32
    matmul is exact too (partial sums below 2**24), its very numbers."""
    gen = torch.Generator().manual_seed(rows + m)
    q_w = torch.randint(-127, 128, (rows, 24), generator=gen).float()
    codes = torch.randint(0, 256, (m, rows), generator=gen).float()
    q = read_plan.int8_weights(q_w, 255)
    assert q is not None
    got = read_plan.int_reference(codes, *q, zero)
    exact = ((codes.double() - zero) @ q_w.double()).float()
    assert got.dtype == torch.float32 and torch.equal(got, exact)
    if rows * 255 * 127 < 2**24:
        assert torch.equal(got, torch.addmm(q_w.sum(0), codes, q_w, beta=-zero))
    assert read_plan.int8_weights(q_w, 511) is None  # 9-bit inputs: the float path
    assert read_plan.int8_weights(q_w * 2, 255) is None  # 9-bit weights


def test_engine_reference_is_the_exact_digital_result():
    """A 1152-row layer (partial sums past 2**24): the engine's reference is exact."""
    layer = torch.nn.Linear(1152, 40)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(40, 1152, generator=torch.Generator().manual_seed(2)))
    rng = {"weight_max": float(layer.weight.detach().abs().max()), "input_min": -0.1}
    eng = LayerEngine("fc", layer, {**rng, "input_max": 1.0}, sim_config())
    assert eng._q8 is not None and eng.zero_point > 0
    x = torch.rand(30, 1152, generator=torch.Generator().manual_seed(3))
    codes, _ = eng.input_codes(x)
    exact = (codes.double() - eng.zero_point) @ eng.q_w.double()
    assert torch.equal(eng.reference(codes), exact.float())


BIT_SETTINGS = [
    dict(bitcell=1, dac_precision=1, sub_array=128, parallel_read=0),
    dict(bitcell=2, dac_precision=1, sub_array=64, parallel_read=16),
    dict(bitcell=4, dac_precision=1, sub_array=256, parallel_read=0),
    dict(bitcell=1, dac_precision=1, sub_array=256, parallel_read=0, signed_mapping="offset"),
]


@needs_kernel
@pytest.mark.parametrize("over", BIT_SETTINGS)
@pytest.mark.parametrize("noisy", [False, True])
def test_bit_plane_reads_are_the_sparse_kernels_numbers(over, noisy):
    """1-bit DAC slices by popcount of the levels' bit-planes: bit for bit the sparse kernel
    without an off-state baseline (exact integer sums), on 1 or 2 threads."""
    sub = {**over, "off_current": "subtract"}
    one, _ = _engine_runs(sub, noisy, ("sparse", "bits"), threads=1)
    two, _ = _engine_runs(sub, noisy, ("bits",), threads=2)
    (a, clip_a), (b, clip_b) = one
    assert clip_a == clip_b and torch.equal(a, b) and float(a.abs().max()) > 0
    assert two[0][1] == clip_b and torch.equal(two[0][0], b)


@needs_kernel
@pytest.mark.parametrize("noisy", [False, True])
def test_bit_plane_reads_of_many_chunks_on_two_threads_are_one_threads_numbers(noisy):
    """Popcount reads of several chunks run chunk by chunk on threads of their own (noise
    call indices sequential): bit for bit one thread's numbers, and with ``off_current:
    subtract`` the sparse kernel's."""
    over = {**BIT_SETTINGS[0], "off_current": "subtract"}
    rng = {"weight_max": 1.0, "input_min": 0.0, "input_max": 1.0}
    eng = LayerEngine("fc", torch.nn.Linear(300, 40), rng, sim_config(adc_precision=5, **over))
    batch = 400
    assert batch > 3 * eng.chunks(3, batch)[1]  # at least four chunks of input vectors
    one, _ = _engine_runs(over, noisy, ("sparse", "bits"), threads=1, batch=batch)
    two, _ = _engine_runs(over, noisy, ("bits",), threads=2, batch=batch)
    (a, clip_a), (b, clip_b) = one
    assert torch.equal(a, b) and clip_a == clip_b and float(a.abs().max()) > 0
    assert torch.equal(two[0][0], b) and two[0][1] == clip_b


@needs_kernel
@pytest.mark.parametrize("noisy", [False, True])
def test_bit_plane_reads_with_baseline_agree_with_the_sparse_kernel(noisy):
    """Default off-state baseline: its share added once per read after the exact popcount
    sums (rounding apart from the sparse kernel's running sum; flips at thresholds only)."""
    runs, reads = _engine_runs(BIT_SETTINGS[0], noisy, ("sparse", "bits"))
    (sparse, clip_s), (bits, clip_b) = runs
    assert abs(clip_s - clip_b) <= 0.001 * reads
    flipped = ((sparse - bits).abs() > 1e-4 * float(sparse.abs().max())).float().mean()
    assert float(flipped) < 0.02 and float(sparse.abs().max()) > 0


def test_bit_plan_is_chosen_for_one_bit_slices_on_narrow_integer_levels():
    (planes, rows), *_ = read_plan.BITS_MIN_ROWS
    w1 = torch.randint(0, 2**planes, (2, rows, 40)).float()
    got = read_plan.plan(rows, 1, w1)
    assert got is not None and got.planes is not None
    assert got.planes.shape == (2, planes, -(-rows // 64), 40)
    assert torch.equal(got.matrix, w1) and got.baseline == 0.0
    assert read_plan.plan(rows - 1, 1, w1[:, 1:]) is None  # shorter reads: sparse adds
    cells = w1 + 0.0101  # the baseline: its share added once per read, chosen by itself too
    for force in (None, "bits"):
        based = read_plan.plan(rows, 1, cells, 0.0101, force=force)
        assert based is not None and based.baseline == 0.0101 and based.planes is not None
        assert based.matrix is cells  # only the planes are kept: no copy of the levels
        assert torch.equal(based.planes, got.planes)  # the same levels' planes
    wide = torch.randint(0, 2 ** (planes + 1), (2, rows, 40)).float()
    wide[0, 0, 0] = 2**planes  # one more bit-plane than measured to win
    assert read_plan.plan(rows, 1, wide) is None
    assert read_plan.plan(rows, 1, wide, force="bits") is not None
    assert read_plan.plan(rows, 1, w1 + 0.3) is None  # float cells: the sparse kernel's adds
    assert read_plan.plan(rows, 1, w1, force="sparse") is None
    assert read_plan.plan(rows, 2, w1) is None or read_plan.plan(rows, 2, w1).planes is None

"""Speed and memory of one layer's CIM reads against their matmul floor, over a settings matrix.

Matrix: ``bitcell`` 1/2/4/7 x ``dac_precision`` 1/2/4/8 x ``sub_array`` 64/128/256/512 x
``parallel_read`` all rows or 16 (64-row subarrays) / 32 rows x noise off / on (read noise
0.05 and output noise 0.5 LSB) x cells ``levels`` (integer cell levels: exact partial sums on
both read strategies) / ``programmed`` (2 % programming noise: float cells, whose BLAS partial
sums differ from the sparse kernel's by float32 rounding; ``--cells``). Layer:
Linear 512 -> 64 (8-bit weights and inputs, 5-bit ADC, default off-state baseline), a batch of
``M = 4096 / (n_x * n_w)`` input vectors (the same analog work in every configuration, at least
64 vectors), half of their codes zero (ReLU-like).

Floor: the float32 batched matmuls of the products the hardware implies, one per bucket of read
groups, ``x (G, n_x * M, p_b) @ w (G, p_b, n_w * phys_cols)`` (every DAC slice of every input
vector times every weight slice's cells; with ``dac_precision`` 8 and one weight slice this is
``codes (M, rows) @ weights (rows, cols)``), whole or chunked as the simulator chunks (the faster
counts), no slicing, noise, ADC or shift-add. ``ratio`` = median over interleaved repetitions
of (simulator mvm seconds / floor seconds right after it); target < 2. Each configuration is
timed with the chosen strategy (:mod:`cimsweep.cim.read_plan`) and with the other one forced,
so the JSON records per cells, dac, rows per read and partial sums per read (weight slices x
physical columns) which one measured faster and by how much: the crossovers (``DENSE_MIN_ROWS``
for ``levels``, ``FLOAT_DENSE_MIN`` for ``programmed``).

Memory (one fresh process for the whole matrix, big blocks returned to the OS when freed): the
peak RSS growth of one mvm over the programmed chip vs. the floor's working set (input codes and
output, float32, plus one chunk of sliced inputs and partial sums); target < 3.

Thread scaling: a few configurations on 1 and 2 threads (same numbers, checked).

Usage: ``python benchmarks/bench_read_matrix.py [--quick] [--reps N] [--cells levels,programmed]
[--dacs 1,2,4,8]``; writes
``benchmarks/out/bench_read_matrix.json``.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from cimsweep.cim import kernel, read_plan, sim_config
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import LayerEngine, LayerStats
from cimsweep.io import write_json

OUT = Path(__file__).resolve().parent / "out" / "bench_read_matrix.json"
ROWS, COLS = 512, 64
PRODUCTS = 4096  # input vectors x input slices x weight slices: M = PRODUCTS / (n_x * n_w)
BITCELLS, DACS, SUBARRAYS = (1, 2, 4, 7), (1, 2, 4, 8), (64, 128, 256, 512)
NOISE = {"off": {}, "on": dict(read_noise=0.05, output_noise=0.5)}
CELLS = {"levels": {}, "programmed": dict(prog_noise=0.02)}


def configs(
    quick: bool, cells: tuple[str, ...] = ("levels",), dacs: tuple[int, ...] = DACS
) -> list[dict]:
    """The matrix (``--quick``: bitcell 1/7, dac 1/8 of ``dacs``, subarrays 64/512)."""
    pick = (lambda t: tuple(dict.fromkeys((t[0], t[-1])))) if quick else (lambda t: t)
    out = []
    for cell, bc, dac, sa, whole, noise in itertools.product(
        cells, pick(BITCELLS), pick(dacs), pick(SUBARRAYS), (True, False), NOISE
    ):
        pr = 0 if whole else (16 if sa <= 64 else 32)
        cfg = dict(bitcell=bc, dac_precision=dac, sub_array=sa, parallel_read=pr, noise=noise)
        out.append({**cfg, "cells": cell})
    return out


def setup(cfg: dict) -> tuple[LayerEngine, torch.Tensor]:
    """Engine of the benchmark layer under ``cfg`` (``cols`` output columns, default
    :data:`COLS`) and its input codes (M, rows)."""
    sim = sim_config(
        adc_precision=5, **{k: v for k, v in cfg.items() if k not in ("noise", "cells", "cols")}
    )
    sim.update(NOISE[cfg["noise"]], **CELLS[cfg.get("cells", "levels")])
    gen = torch.Generator().manual_seed(0)
    cols = int(cfg.get("cols", COLS))
    layer = torch.nn.Linear(ROWS, cols)
    with torch.no_grad():
        layer.weight.requires_grad_(False).copy_(torch.randn(cols, ROWS, generator=gen) * 0.05)
    rng = {"weight_max": float(layer.weight.abs().max()), "input_min": 0.0, "input_max": 1.0}
    eng = LayerEngine("fc", layer, rng, sim)
    batch = max(64, PRODUCTS // (eng.n_x * eng.map.n_w))
    codes = torch.randint(0, 256, (batch, ROWS), generator=gen).float()
    codes[torch.rand(batch, ROWS, generator=gen) < 0.5] = 0
    return eng, codes


def chosen(eng: LayerEngine, chip) -> str:
    """Strategy of the largest bucket (all buckets of this layer share rows per read but one);
    ``linear``: the chip's reads are exactly linear (one integer matmul, no reads)."""
    if chip.effective is not None:
        return "linear"
    w = max(chip.bucket_weights, key=lambda t: t.numel())
    dense = read_plan.plan(w.shape[1], eng.dac, w, eng.c, eng.read_strategy)
    if dense is None:
        return "sparse"
    return "bits" if dense.planes is not None else "dense"


def floor_ops(eng: LayerEngine, chip, m: int) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    """Matmul operands of the floor: whole buckets, and chunked as the simulator chunks."""
    whole, chunked = [], []
    for (_s, _idx, rows), w in zip(eng.buckets, chip.bucket_weights, strict=True):
        g, p = rows.shape
        a = (torch.rand(g, eng.n_x * m, p) < 0.5).float()
        whole.append((a, w))
        gc, mc = eng.chunks(g, m)
        b = a[:gc, : eng.n_x * mc]
        chunked.extend(
            (b[: min(gc, g - g0), : eng.n_x * min(mc, m - m0)], w[g0 : g0 + gc])
            for g0 in range(0, g, gc)
            for m0 in range(0, m, mc)
        )
    return [whole, chunked]


def floor_working_set(eng: LayerEngine, m: int) -> int:
    """Bytes of the floor beyond the weights: codes and output (float32), one chunk of sliced
    inputs and partial sums (largest bucket)."""
    best = 0
    for _s, _idx, rows in eng.buckets:
        g, p = rows.shape
        gc, mc = eng.chunks(g, m)
        best = max(best, gc * eng.n_x * mc * (p + eng.map.n_w * eng.map.phys_cols))
    return 4 * (m * eng.map.rows + m * eng.map.cols + best)


def _mvm(eng: LayerEngine, chip, codes: torch.Tensor) -> tuple[torch.Tensor, int]:
    stats = LayerStats()
    noise = NoiseStream(torch.Generator().manual_seed(1), "cpu")
    return eng.mvm(codes, chip, noise, stats), stats.reads


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench(cfg: dict, reps: int) -> dict:
    """Timings of one configuration: chosen and forced-other strategies vs. the floor."""
    eng, codes = setup(cfg)
    chip = eng.program(torch.Generator().manual_seed(2))
    pick = chosen(eng, chip)
    ops = floor_ops(eng, chip if pick != "linear" else eng.program(None, False), codes.shape[0])
    one_bit = eng.dac == 1 and pick != "linear"
    bits = one_bit and read_plan.plan(1, 1, chip.bucket_weights[0], eng.c, "bits") is not None
    kinds = ("linear",) if pick == "linear" else ("sparse", "dense", "bits")[: 3 if bits else 2]
    runs: dict[str, list[float]] = {k: [] for k in (*kinds, "floor")}
    outs = {}
    with torch.no_grad():
        for strategy in kinds:  # warm-up and the numbers of each
            eng.read_strategy = None if strategy == "linear" else strategy
            outs[strategy], reads = _mvm(eng, chip, codes)
        for _ in range(reps):  # interleaved: sparse, dense, floor
            for strategy in kinds:
                eng.read_strategy = None if strategy == "linear" else strategy
                runs[strategy].append(_time(lambda: _mvm(eng, chip, codes)))
            runs["floor"].append(
                min(_time(lambda o=o: [torch.bmm(a, w) for a, w in o]) for o in ops)
            )
    eng.read_strategy = None
    med = {k: statistics.median(v) for k, v in runs.items()}
    ratios = {k: statistics.median(t / f for t, f in zip(runs[k], runs["floor"], strict=True))
              for k in kinds}  # fmt: skip
    other = outs.get("dense", outs[pick])
    max_diff = float((outs[pick] - other).abs().max())
    return {
        **cfg,
        "batch": codes.shape[0],
        "rows_per_read": eng.map.groups[0][1],
        "input_slices": eng.n_x,
        "weight_slices": eng.map.n_w,
        "phys_cols": eng.map.phys_cols,
        "strategy": pick,
        "faster": min(kinds, key=lambda k: med[k]),
        "seconds": med[pick],
        "ns_per_read": 1e9 * med[pick] / reads,
        "floor_seconds": med["floor"],
        "ratio": ratios[pick],
        "ratio_sparse": ratios.get("sparse"),
        "ratio_dense": ratios.get("dense"),
        "ratio_bits": ratios.get("bits"),
        "dense_vs_sparse_max_abs_diff": max_diff,
        "floor_working_set_bytes": floor_working_set(eng, codes.shape[0]),
    }


def _memory_child(cfgs: list[dict]) -> list[int]:
    torch.set_num_threads(1)
    status = Path("/proc/self/status")

    def rss(field: str) -> int:
        line = next(s for s in status.read_text().splitlines() if s.startswith(field + ":"))
        return int(line.split()[1]) * 1024

    peaks = []
    for cfg in cfgs:
        eng, codes = setup(cfg)
        chip = eng.program(torch.Generator().manual_seed(2))
        with torch.no_grad():
            _mvm(eng, chip, codes)  # first call: kernel build and one-off allocations
            before = rss("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
            _mvm(eng, chip, codes)
            peaks.append(rss("VmHWM") - before)
    return peaks


def memory(cfgs: list[dict]) -> list[int]:
    """Peak RSS growth (bytes) of one mvm per configuration, in one fresh process."""
    os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"  # big blocks go back to the OS when freed
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_memory_child, (cfgs,))


def scaling(reps: int) -> list[dict]:
    """mvm seconds on 1 and 2 threads for a few configurations (numbers checked equal)."""
    cases = [
        dict(bitcell=1, dac_precision=1, sub_array=128, parallel_read=0, noise="on"),
        dict(bitcell=7, dac_precision=8, sub_array=512, parallel_read=0, noise="on"),
        dict(bitcell=2, dac_precision=4, sub_array=256, parallel_read=32, noise="off"),
    ]
    out = []
    old = torch.get_num_threads()
    for cfg in cases:
        eng, codes = setup({**cfg})
        chip = eng.program(torch.Generator().manual_seed(2))
        times, results = {}, {}
        run = lambda e=eng, c=chip, x=codes: _mvm(e, c, x)  # noqa: E731
        with torch.no_grad():
            for threads in (1, 2):
                torch.set_num_threads(threads)
                results[threads] = run()[0]
                times[threads] = min(_time(run) for _ in range(reps))
        torch.set_num_threads(old)
        same = bool(torch.equal(results[1], results[2]))
        speed = {"seconds_1": times[1], "seconds_2": times[2], "speedup": times[1] / times[2]}
        out.append({**cfg, "strategy": chosen(eng, chip), **speed, "same_numbers": same})
    return out


def crossover(rows: list[dict]) -> dict[str, dict[str, dict[str, str]]]:
    """Per cells, DAC precision, rows per read and partial sums per read: the strategy measured
    faster most often, and the median time ratio sparse / the faster of dense and bits."""
    votes: dict[tuple[str, int, int, int], list[tuple[str, float]]] = {}
    for r in rows:
        if r["strategy"] == "linear":
            continue
        sums = r["weight_slices"] * r["phys_cols"]
        key = (r.get("cells", "levels"), r["dac_precision"], r["rows_per_read"], sums)
        other = min(r[f"ratio_{k}"] for k in ("dense", "bits") if r[f"ratio_{k}"] is not None)
        votes.setdefault(key, []).append((r["faster"], r["ratio_sparse"] / other))
    out: dict[str, dict[str, dict[str, str]]] = {}
    for (cells, dac, n, sums), v in sorted(votes.items()):
        faster = [f for f, _ in v]
        speed = statistics.median(q for _, q in v)
        best = max(set(faster), key=faster.count)
        cell = out.setdefault(cells, {}).setdefault(f"dac{dac}", {})
        cell[f"rows{n}_sums{sums}"] = f"{best} ({speed:.2f})"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="corners of the matrix only")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cells", default="levels", help="levels and/or programmed, comma-separated")
    ap.add_argument("--dacs", default=",".join(map(str, DACS)), help="DAC precisions")
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    ap.add_argument("--cols", type=int, default=COLS, help="output columns of the layer")
    args = ap.parse_args()
    if kernel.library() is None:
        raise SystemExit("bench_read_matrix: the compiled kernel is not available")
    torch.set_num_threads(args.threads)
    cells = tuple(c for c in args.cells.split(",") if c)
    unknown = sorted(set(cells) - set(CELLS))
    if unknown:
        ap.error(f"--cells: unknown {unknown}; expected some of {list(CELLS)}")
    cfgs = configs(args.quick, cells, tuple(int(d) for d in args.dacs.split(",") if d))
    if args.cols != COLS:
        cfgs = [{**c, "cols": args.cols} for c in cfgs]
    rows = []
    for i, cfg in enumerate(cfgs):
        r = bench(cfg, args.reps)
        rows.append(r)
        both = " ".join(f"{k} {r[f'ratio_{k}']:5.2f}" for k in ("sparse", "dense", "bits")
                        if r[f"ratio_{k}"] is not None)  # fmt: skip
        print(f"[{i + 1}/{len(cfgs)}] {r['cells']:10s} bc{r['bitcell']} dac{r['dac_precision']} "
              f"sa{r['sub_array']} rows{r['rows_per_read']:3d} noise {r['noise']:3s} "
              f"{r['strategy']:6s} ratio {r['ratio']:5.2f} ({both})", flush=True)  # fmt: skip
    for r, peak in zip(rows, [None] * len(cfgs) if args.no_memory else memory(cfgs), strict=True):
        r["peak_bytes"] = peak
        r["memory_ratio"] = None if peak is None else peak / r["floor_working_set_bytes"]
    within = [r for r in rows if r["ratio"] < 2]
    mem_ok = [r for r in rows if r["memory_ratio"] is not None and r["memory_ratio"] < 3]
    report = {
        "threads": args.threads,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "layer": {"rows": ROWS, "cols": args.cols, "products": PRODUCTS},
        "crossover_dense_min_rows": dict(read_plan.DENSE_MIN_ROWS),
        "crossover_float_dense_min": {b: list(c) for b, c in read_plan.FLOAT_DENSE_MIN},
        "load_average": list(os.getloadavg()),
        "crossover_measured": crossover(rows),
        "within_2x": f"{len(within)}/{len(rows)}",
        "memory_within_3x": f"{len(mem_ok)}/{len(rows)}",
        "worst_ratio": max(r["ratio"] for r in rows),
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "not_within_2x": [
            {
                k: r[k]
                for k in (
                    "bitcell",
                    "dac_precision",
                    "sub_array",
                    "parallel_read",
                    "noise",
                    "cells",
                    "strategy",
                    "ratio",
                )
            }
            for r in rows
            if r["ratio"] >= 2
        ],  # fmt: skip
        "thread_scaling": scaling(args.reps),
        "configs": rows,
    }
    write_json(OUT, report)
    for k in ("within_2x", "memory_within_3x", "worst_ratio", "median_ratio"):
        print(f"{k}: {report[k]}")
    for s in report["thread_scaling"]:
        print(f"threads 1 -> 2: {s['speedup']:.2f}x ({s['strategy']}, dac {s['dac_precision']}, "
              f"bitcell {s['bitcell']}, same numbers: {s['same_numbers']})")  # fmt: skip
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

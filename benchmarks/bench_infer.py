"""Speed of the noisy CIM forward against its matmul floor.

The floor of a layer is the float32 batched matmuls of the products the hardware implies
(input slices x weight slices x read groups, the simulator's shapes), with no DAC slicing, noise,
ADC or shift-add, chunked over read groups and input vectors as the simulator chunks its reads;
of three chunk sizes (``FLOOR_CHUNKS``) the fastest counts. The simulator itself never forms
these products as matrices on CPU (its compiled kernel sums the weights of nonzero input
slices). ``ratio = forward seconds / floor seconds`` (target < 2), each side the fastest of
interleaved repetitions; ``ratios`` holds each repetition's own ratio (forward, then its floor
right after), whose spread shows how much a shared machine's slow phases move it. Chip
programming (once per Monte-Carlo instance, amortised over the test set) is timed apart.
Models: the default digits CNN and MLP (360 test samples, 3 Monte-Carlo chips) and a
VGG8-sized stack on four 3x32x32 inputs (1 chip).

Memory (noisy config, fresh process): the peak RSS growth of one forward pass over the
programmed chip vs. the floor's working set beyond the weights (largest layer: input vectors,
output and one chunk of sliced inputs and partial sums); the chip's own size and the peak of
programming it are reported too. 8-bit weights and inputs, bitcell 1,
128x128 subarrays, 5-bit ADC. Runs on one CPU thread unless ``--threads``.

``--semantics both`` also runs every config under ``preset: neurosim_v1.5`` (first layer kept
analog, so the work is the same) and prints its forward time over cimsweep's (``read_noise``:
NeuroSim's per-cycle cell noise against cimsweep's per-read noise).

``--neurosim-layer`` times one forward call (``LayerEngine.mvm``, batch 32, best and median of
``NS_CALLS``) of the 256x128 layer of ``tests/data/neurosim_v1.5_reference.json`` under
``neurosim_v1.5`` for each case NeuroSim's own call was timed on (the file's ``timing``), read
noise also with ``read_noise_resample`` forward and with cimsweep's per-read noise
(``read_noise_model: additive``, ``read_noise_resample: read``), and prints NeuroSim's time over
ours.

Usage: ``python benchmarks/bench_infer.py [--threads N] [--quick] [--semantics both]
[--models mlp ...] [--neurosim-layer]``; writes ``benchmarks/out/bench_infer.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cimsweep.cim import cim_modules, convert, program, set_mode, sim_config
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import LayerEngine
from cimsweep.data import prepare
from cimsweep.io import write_json
from cimsweep.nn.models import build_model
from cimsweep.nn.quant import calibrate

OUT = Path(__file__).resolve().parent / "out" / "bench_infer.json"
REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "data" / "neurosim_v1.5_reference.json"
NS_CALLS = 20  # timed forward calls per case of --neurosim-layer
# --neurosim-layer: read-noise variants timed beside the preset's per-cycle noise
NS_VARIANTS = {
    "cycle": {},
    "forward": {"read_noise_resample": "forward"},
    "per_read": {"read_noise_model": "additive", "read_noise_resample": "read"},
}

FLOOR_CHUNKS = (1 << 17, 1 << 19, 1 << 21)  # partial sums per batched matmul

CONFIGS = {
    "noise_free": {},
    "noisy": dict(
        read_noise=0.02, prog_noise=0.02, output_noise=0.5, rate_stuck_0=0.001, rate_stuck_1=0.001
    ),
    "lossless_adc": dict(adc_precision=10),
    "read_noise": dict(read_noise=0.1),
}
# ``--semantics``: configs also run under a preset, on the same layers (NeuroSim leaves the
# first layer digital; here it stays analog so both semantics do the same work)
PRESET_SUFFIX = "@"
SEMANTICS = {"cimsweep": ("cimsweep",), "neurosim": ("neurosim_v1.5",)}
SEMANTICS["both"] = SEMANTICS["cimsweep"] + SEMANTICS["neurosim"]


def config_names(semantics: str) -> list[str]:
    """Config names of a ``--semantics`` choice (``cfg`` or ``cfg@preset``)."""
    return [
        cfg if preset == "cimsweep" else f"{cfg}{PRESET_SUFFIX}{preset}"
        for preset in SEMANTICS[semantics]
        for cfg in CONFIGS
    ]


def config_sim(cfg: str) -> dict:
    """The sim of config name ``cfg`` (see :func:`config_names`)."""
    base, _, preset = cfg.partition(PRESET_SUFFIX)
    if not preset:
        return sim_config(**CONFIGS[base])
    return sim_config(preset=preset, digital_layers="none", **CONFIGS[base])


def vgg8() -> nn.Module:
    """VGG8 of DNN+NeuroSim (CIFAR-10 shapes)."""

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]

    return nn.Sequential(
        *block(3, 128), *block(128, 128), nn.MaxPool2d(2),
        *block(128, 256), *block(256, 256), nn.MaxPool2d(2),
        *block(256, 512), *block(512, 512), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8192, 1024), nn.ReLU(), nn.Linear(1024, 10),
    )  # fmt: skip


def _best(fn, reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def simulate(cm: nn.Module, x: torch.Tensor, mc: int) -> tuple[float, float]:
    """Program and run ``mc`` chip instances (what evaluate does per grid point).

    Returns (programming seconds, forward seconds), summed over instances.
    """
    prog = fwd = 0.0
    with torch.no_grad():
        for i in range(mc):
            t0 = time.perf_counter()
            program(cm, torch.Generator().manual_seed(i))
            t1 = time.perf_counter()
            cm(x)
            prog, fwd = prog + t1 - t0, fwd + time.perf_counter() - t1
    return prog, fwd


def layer_sizes(cm: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, int]]:
    """(input vectors, output elements) of every CIM layer on ``x`` (one quantized pass)."""
    seen: dict[str, tuple[int, int]] = {}
    hooks = [
        m.register_forward_hook(
            lambda mod, inp, out: seen.__setitem__(
                mod.name, (mod.engine.input_codes(inp[0])[0].shape[0], out.numel())
            )
        )
        for m in cim_modules(cm)
    ]
    set_mode(cm, "quant")
    with torch.no_grad():
        cm(x)
    set_mode(cm, "cim")
    for h in hooks:
        h.remove()
    return seen


def floor(cm: nn.Module, x: torch.Tensor, mc: int) -> float:
    """Seconds of the hardware's matmuls alone for ``mc`` instances: the fastest of
    :data:`FLOOR_CHUNKS` chunkings of the same products."""
    sizes = layer_sizes(cm, x)
    return min(_floor_chunked(cm, sizes, mc, elements) for elements in FLOOR_CHUNKS)


def _floor_chunked(cm: nn.Module, sizes: dict, mc: int, elements: int) -> float:
    shapes = []
    for m in cim_modules(cm):
        e, chip = m.engine, m.engine.program(None, shortcut=False)
        for (_s, _idx, rows), w in zip(e.buckets, chip.bucket_weights, strict=True):
            g, p = rows.shape
            total = sizes[m.name][0]
            gc, vc = e.chunks(g, total, elements)
            a = (torch.rand(gc, e.n_x * vc, p) < 0.3).float()
            shapes.extend(
                (a[: min(gc, g - g0), : e.n_x * min(vc, total - m0)], w[g0 : g0 + gc])
                for g0 in range(0, g, gc)
                for m0 in range(0, total, vc)
            )

    def run():
        for _ in range(mc):
            for a, w in shapes:
                torch.bmm(a, w)

    return _best(run, 1)


def _rss(field: str) -> int:
    """``VmRSS`` / ``VmHWM`` of this process in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux >= 4.0)


def floor_working_set(cm: nn.Module, x: torch.Tensor) -> int:
    """Bytes the floor needs beyond the weights, largest layer: its input vectors and output
    (float32) plus one chunk of sliced inputs and partial sums."""
    seen = layer_sizes(cm, x)
    best = 0
    for m in cim_modules(cm):
        e, (rows_m, out_n) = m.engine, seen[m.name]
        for _s, _idx, rows in e.buckets:
            g, p = rows.shape
            gc, mc = e.chunks(g, rows_m)
            chunk = gc * e.n_x * mc * (p + e.map.n_w * e.map.phys_cols)
            best = max(best, 4 * (rows_m * e.map.rows + out_n + chunk))
    return best


def _memory_child(name: str, cfg: str) -> dict:
    torch.set_num_threads(1)
    cm, x, _ = converted(name, cfg)
    floor_ws = floor_working_set(cm, x)
    before = _rss("VmRSS")
    _reset_peak()
    program(cm, torch.Generator().manual_seed(0))
    programmed, program_peak = _rss("VmRSS"), _rss("VmHWM")
    _reset_peak()
    with torch.no_grad():
        cm(x)
    forward_peak = _rss("VmHWM") - programmed
    return {
        "forward_peak_bytes": forward_peak,
        "floor_working_set_bytes": floor_ws,
        "memory_ratio": forward_peak / floor_ws,
        "chip_bytes": programmed - before,
        "program_peak_bytes": program_peak - before,
    }


def memory(name: str, cfg: str) -> dict:
    """Peak memory of one noisy forward pass vs. the floor's working set (fresh process)."""
    os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"  # big blocks go back to the OS when freed
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_memory_child, (name, cfg))


def workload(name: str) -> tuple[nn.Module, torch.Tensor, torch.Tensor, int]:
    """(model, test inputs, calibration inputs, Monte-Carlo chips) of a benchmark model."""
    torch.manual_seed(0)
    if name == "vgg8":
        return vgg8().eval(), torch.randn(4, 3, 32, 32), torch.randn(8, 3, 32, 32), 1
    d = prepare("digits", 0.2, 0)
    model = build_model(name, (1, 8, 8), 10).eval()
    return model, torch.from_numpy(d["x_test"]), torch.from_numpy(d["x_train"][:256]), 3


def converted(name: str, cfg: str) -> tuple[nn.Module, torch.Tensor, int]:
    """The CIM model of ``name`` under config ``cfg``, its test inputs and chip count."""
    model, x, x_cal, mc = workload(name)
    ranges = calibrate(
        model, x_cal, input_precision=8, weight_precision=8,
        input_method="percentile", weight_method="max", percentile=99.99,
    )  # fmt: skip
    return convert(model, ranges, config_sim(cfg)), x, mc


def bench(name: str, reps: int, semantics: str = "cimsweep") -> dict:
    out = {}
    for cfg in config_names(semantics):
        cm, x, mc = converted(name, cfg)
        runs = []
        for _ in range(reps):  # interleaved, so slow phases of a shared machine hit both
            runs.append((*simulate(cm, x, mc), floor(cm, x, mc)))
        prog_s, sim_s, _ = min(runs, key=lambda r: r[1])
        floor_s = min(r[2] for r in runs)
        ratios = [r[1] / r[2] for r in runs]  # each forward over the floor timed right after it
        out[cfg] = {
            "seconds": sim_s,
            "program_seconds": prog_s,
            "floor_seconds": floor_s,
            "ratio": sim_s / floor_s,
            "ratios": ratios,
            "samples_per_s": len(x) * mc / (sim_s + prog_s),
            "forward_samples_per_s": len(x) * mc / sim_s,
            "mc_runs": mc,
            "samples": len(x),
        }
        print(
            f"{name:4s} {cfg:26s} forward {sim_s:7.3f} s  floor {floor_s:7.3f} s  "
            f"ratio {sim_s / floor_s:5.2f} (runs {min(ratios):.2f}-{max(ratios):.2f})  "
            f"program {prog_s:6.3f} s  "
            f"{len(x) * mc / (sim_s + prog_s):9.2f} samples/s"
        )
    mem = memory(name, "noisy")
    out["noisy"].update(mem)
    print(
        f"{name:4s} noisy forward peak {mem['forward_peak_bytes'] / 2**20:8.1f} MiB  "
        f"floor working set {mem['floor_working_set_bytes'] / 2**20:8.1f} MiB  "
        f"ratio {mem['memory_ratio']:5.2f}  (chip {mem['chip_bytes'] / 2**20:.1f} MiB, "
        f"programming peak {mem['program_peak_bytes'] / 2**20:.1f} MiB)"
    )
    return out


def neurosim_layer(calls: int = NS_CALLS) -> dict:
    """Seconds per forward call of the reference file's timed layer under ``neurosim_v1.5``,
    beside NeuroSim V1.5's own (the file's ``timing``, same layer, batch and thread count)."""
    meta = json.loads(REFERENCE.read_text())
    timing, out = meta["timing"], {}
    spec = meta["layers"][timing["layer"]]
    with np.load(REFERENCE.with_suffix(".npz")) as z:  # its arrays
        x = torch.from_numpy(z[spec["npz"]["input"]].astype(np.float32))
        w = torch.from_numpy(z[spec["npz"]["weight"]].astype(np.float32))
    layer = nn.Linear(w.shape[1], w.shape[0], bias=False)
    layer.weight.data.copy_(w)
    rng = {"input_min": float(x.min()), "input_max": float(x.max()), "weight_max": 127.0}
    for case, ref in timing["cases"].items():
        variants = NS_VARIANTS if float(ref["neurosim"].get("read_noise", 0)) else {"cycle": {}}
        row: dict = {"neurosim_seconds": ref["seconds_per_call_min"]}
        row["neurosim_seconds_median"] = ref["seconds_per_call_median"]
        for variant, extra in variants.items():
            sim = sim_config(preset="neurosim_v1.5", **ref["neurosim"], **extra)
            e = LayerEngine("l", layer, rng, sim)
            codes, _ = e.input_codes(x)
            gen = torch.Generator().manual_seed(0)
            chip, noise = e.program(gen), NoiseStream(gen, "cpu")
            e.mvm(codes, chip, noise)  # warm: kernel build, caches
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                e.mvm(codes, chip, noise)
                times.append(time.perf_counter() - t0)
            row[variant] = {"seconds": min(times), "seconds_median": float(np.median(times))}
        row["neurosim_over_cimsweep"] = row["neurosim_seconds"] / row["cycle"]["seconds"]
        if "per_read" in row:
            row["cycle_over_per_read"] = row["cycle"]["seconds"] / row["per_read"]["seconds"]
        out[case] = row
        times_ms = "  ".join(f"{v} {row[v]['seconds'] * 1e3:7.2f} ms" for v in variants)
        ns_ms, ns_med = row["neurosim_seconds"] * 1e3, row["neurosim_seconds_median"] * 1e3
        ratios = f"NeuroSim / cimsweep {row['neurosim_over_cimsweep']:5.2f}"
        if "per_read" in row:
            ratios += f"  cycle / per-read {row['cycle_over_per_read']:4.2f}"
        print(
            f"{timing['layer']} {case:20s} {times_ms}  NeuroSim {ns_ms:7.2f} ms "
            f"(median {ns_med:.2f})  {ratios}"
        )
    return {"layer": timing["layer"], "batch": timing["batch"], "cases": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="skip VGG8, one repetition")
    ap.add_argument(
        "--semantics", choices=sorted(SEMANTICS), default="cimsweep",
        help="presets to time (both: each config under cimsweep and neurosim_v1.5)",
    )  # fmt: skip
    ap.add_argument(
        "--models", nargs="*", choices=("cnn", "mlp", "vgg8"), default=None,
        help="models to time (default: cnn mlp vgg8; cnn mlp with --quick; none: only "
        "--neurosim-layer)",
    )  # fmt: skip
    ap.add_argument(
        "--neurosim-layer", action="store_true",
        help="time the reference file's 256x128 layer against NeuroSim V1.5's own call",
    )  # fmt: skip
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    reps = 1 if args.quick else 5
    results = {"threads": args.threads, "torch": torch.__version__, "cpu": platform.processor()}
    models = args.models
    if models is None:
        models = ("cnn", "mlp") if args.quick else ("cnn", "mlp", "vgg8")
    for name in models:
        results[name] = bench(name, min(reps, 2) if name == "vgg8" else reps, args.semantics)
    if args.neurosim_layer:
        results["neurosim_layer"] = neurosim_layer(5 if args.quick else NS_CALLS)
    for name in set(models) & {"cnn", "mlp"}:
        for cfg in CONFIGS:  # neurosim over cimsweep on the same work, within this run
            ns = results[name].get(f"{cfg}{PRESET_SUFFIX}neurosim_v1.5")
            if ns is not None:
                ratio = ns["seconds"] / results[name][cfg]["seconds"]
                ns["seconds_vs_cimsweep"] = ratio
                print(f"{name:4s} {cfg:13s} neurosim_v1.5 / cimsweep forward time {ratio:5.2f}")
    write_json(OUT, results)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

"""Speed of the noisy CIM forward against its matmul floor.

The floor of a layer is the same sequence of float32 batched matmuls the simulator issues
(same chunking and shapes: input slices x weight slices x read groups), with no DAC slicing,
noise, ADC or shift-add. ``ratio = simulator seconds / floor seconds`` (target < 2).
Models: the default digits CNN and MLP (360 test samples, 3 Monte-Carlo chips) and a
VGG8-sized stack on one 3x32x32 input (1 chip). 8-bit weights and inputs, bitcell 1,
128x128 subarrays, 5-bit ADC. Runs on one CPU thread unless ``--threads``.

Usage: ``python benchmarks/bench_infer.py [--threads N] [--quick]``; writes
``benchmarks/out/bench_infer.json``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch
from torch import nn

from cimsweep.cim import cim_modules, convert, program, set_mode, sim_config
from cimsweep.data import prepare
from cimsweep.io import write_json
from cimsweep.models import build_model
from cimsweep.quant import calibrate

OUT = Path(__file__).resolve().parent / "out" / "bench_infer.json"

CONFIGS = {
    "noise_free": {},
    "noisy": dict(
        read_noise=0.02, prog_noise=0.02, output_noise=0.5, rate_stuck_0=0.001, rate_stuck_1=0.001
    ),
    "lossless_adc": dict(adc_precision=10),
}


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


def floor(cm: nn.Module, x: torch.Tensor, mc: int) -> float:
    """Seconds of the simulator's matmuls alone for ``mc`` instances."""
    shapes = []
    rows_seen: dict[str, int] = {}
    hooks = [
        m.register_forward_pre_hook(
            lambda mod, inp: rows_seen.__setitem__(
                mod.name, mod.engine.input_codes(inp[0])[0].shape[0]
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
    for m in cim_modules(cm):
        e, chip = m.engine, m.engine.program(None, scaled=False)
        for (_s, _idx, rows), w in zip(e.buckets, chip.bucket_weights, strict=True):
            g, p = rows.shape
            chunk, total = e.chunk_rows(g), rows_seen[m.name]
            a = (torch.rand(g, e.n_x * chunk, p) < 0.3).float()
            shapes.extend(
                (a[:, : e.n_x * min(chunk, total - m0)], w) for m0 in range(0, total, chunk)
            )

    def run():
        for _ in range(mc):
            for a, w in shapes:
                torch.bmm(a, w)

    return _best(run, 1)


def bench(name: str, model: nn.Module, x: torch.Tensor, x_cal: torch.Tensor, mc: int, reps: int):
    ranges = calibrate(
        model, x_cal, input_precision=8, weight_precision=8,
        input_method="percentile", weight_method="max", percentile=99.99,
    )  # fmt: skip
    out = {}
    for cfg, over in CONFIGS.items():
        cm = convert(model, ranges, sim_config(**over))
        prog_s, sim_s = min((simulate(cm, x, mc) for _ in range(reps)), key=lambda t: t[1])
        floor_s = min(floor(cm, x, mc) for _ in range(reps))
        out[cfg] = {
            "seconds": sim_s,
            "program_seconds": prog_s,
            "floor_seconds": floor_s,
            "ratio": sim_s / floor_s,
            "samples_per_s": len(x) * mc / (sim_s + prog_s),
            "mc_runs": mc,
            "samples": len(x),
        }
        print(
            f"{name:4s} {cfg:13s} forward {sim_s:7.3f} s  floor {floor_s:7.3f} s  "
            f"ratio {sim_s / floor_s:5.2f}  program {prog_s:6.3f} s  "
            f"{len(x) * mc / (sim_s + prog_s):9.1f} samples/s"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="skip VGG8, one repetition")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    reps = 1 if args.quick else 3
    d = prepare("digits", 0.2, 0)
    x_test = torch.from_numpy(d["x_test"])
    x_cal = torch.from_numpy(d["x_train"][:256])
    results = {"threads": args.threads, "torch": torch.__version__, "cpu": platform.processor()}
    for name in ("cnn", "mlp"):
        model = build_model(name, (1, 8, 8), 10).eval()
        results[name] = bench(name, model, x_test, x_cal, mc=3, reps=reps)
    if not args.quick:
        model = vgg8().eval()
        x = torch.randn(1, 3, 32, 32)
        results["vgg8"] = bench("vgg8", model, x, torch.randn(4, 3, 32, 32), mc=1, reps=1)
    write_json(OUT, results)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

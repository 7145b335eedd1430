"""VGG8 (DNN+NeuroSim, CIFAR-sized inputs) throughput on CPU and, when present, CUDA.

Measures, on random 3x32x32 tensors with 10 classes:

* float training samples/s (the train step of :mod:`cimsweep.training.train`: SGD, crop+flip
  augmentation; fp32, plus mixed precision on CUDA);
* float inference samples/s (eval mode);
* simulated CIM inference samples/s (:func:`cimsweep.cim.evaluate`, one Monte-Carlo instance,
  NeuroSim example-1 operating point), when the simulator is importable.

Writes ``benchmarks/out/bench_gpu.json``. Usage:
``python benchmarks/bench_gpu.py [--device auto|cpu|cuda] [--quick] [--no-sim]
[--sim-samples N]``; ``--device auto`` (default) measures the CPU and, when present, CUDA;
``--device cpu --quick`` is a CPU smoke run (one simulated sample; a few minutes on 2 cores:
simulating VGG8 bit-serially on a CPU takes tens of seconds per image).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import save  # noqa: E402

from cimsweep.data import random_crop_flip  # noqa: E402
from cimsweep.nn.models import build_model  # noqa: E402
from cimsweep.training.train import _autocast, make_optimizer  # noqa: E402

SHAPE = (3, 32, 32)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_throughput(device: torch.device, batch: int, steps: int, amp: bool) -> float:
    """Training samples/s of VGG8 (warm-up step excluded)."""
    torch.manual_seed(0)
    model = build_model("vgg8", SHAPE, 10).to(device)
    opt = make_optimizer("sgd", model.parameters(), 0.05, 5e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=amp and not torch.cuda.is_bf16_supported())
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, *SHAPE, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    loss_fn = nn.CrossEntropyLoss()
    model.train()

    def step() -> None:
        xb = random_crop_flip(x, gen)
        opt.zero_grad(set_to_none=True)
        with _autocast(device, amp):
            loss = loss_fn(model(xb), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return batch * steps / (time.perf_counter() - start)


def infer_throughput(device: torch.device, batch: int, steps: int, amp: bool) -> float:
    """Float inference samples/s of VGG8 in eval mode."""
    model = build_model("vgg8", SHAPE, 10).to(device).eval()
    x = torch.randn(batch, *SHAPE, device=device)
    with torch.no_grad(), _autocast(device, amp):
        model(x)
        _sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            model(x)
        _sync(device)
    return batch * steps / (time.perf_counter() - start)


def sim_throughput(device: torch.device, n: int) -> dict[str, Any]:
    """Simulated CIM inference samples/s (1 instance; includes the quantized reference)."""
    try:
        from cimsweep.cim import evaluate
        from cimsweep.nn.quant import calibrate
        from cimsweep.workflow.config import load
    except ImportError as exc:  # simulator not available in this checkout
        return {"error": f"simulator not importable: {exc}"}
    values = {
        **load({}).values,
        "sub_array": (128, 128),
        "bitcell": 1,
        "adc_precision": 7,
        "mc_runs": 1,
        "read_noise": 0.02,
    }
    torch.manual_seed(0)
    model = build_model("vgg8", SHAPE, 10).eval()
    x = torch.randn(n, *SHAPE)
    y = torch.randint(0, 10, (n,))
    ranges = calibrate(
        model,
        x[: min(n, 64)],
        input_precision=values["input_precision"],
        weight_precision=values["weight_precision"],
        input_method=values["input_calib_method"],
        weight_method=values["weight_calib_method"],
        percentile=values["calib_percentile"],
    )
    model, x, y = model.to(device), x.to(device), y.to(device)
    try:
        start = time.perf_counter()
        evaluate(model, ranges, x, y, values, seed=0)
        _sync(device)
        seconds = time.perf_counter() - start
    except Exception as exc:  # report, do not fail the other measurements
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"samples": n, "seconds": seconds, "samples_per_s": n / seconds}


def measure(
    device: torch.device, quick: bool, sim: bool, sim_samples: int | None = None
) -> dict[str, Any]:
    """Every throughput on one device (printed as it goes); ``sim_samples`` overrides the
    simulated-inference sample count (default 8 on CPU, 1 with ``quick``; 256 on CUDA, 32
    with ``quick``)."""
    cpu = device.type == "cpu"
    batch = 32 if cpu else 256
    steps = (2 if quick else 4) if cpu else (10 if quick else 50)
    out: dict[str, Any] = {
        "batch": batch,
        "train_fp32_samples_per_s": train_throughput(device, batch, steps, amp=False),
        "infer_fp32_samples_per_s": infer_throughput(device, batch * 2, steps, amp=False),
    }
    if not cpu:
        out["train_amp_samples_per_s"] = train_throughput(device, batch, steps, amp=True)
        out["infer_amp_samples_per_s"] = infer_throughput(device, batch * 2, steps, amp=True)
        out["gpu"] = torch.cuda.get_device_name(device)
    print(device, out, flush=True)
    if sim:  # the simulator is slow on CPU: a few samples only
        n = sim_samples or ((1 if quick else 8) if cpu else (32 if quick else 256))
        out["sim_infer"] = sim_throughput(device, n)
        print(device, out["sim_infer"], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer steps (smoke test)")
    parser.add_argument("--no-sim", action="store_true", help="skip simulated CIM inference")
    parser.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: CPU, then CUDA when present; cpu or cuda: that device only",
    )
    parser.add_argument("--sim-samples", type=int, default=None, help="simulated samples")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    report: dict[str, Any] = {
        "model": "vgg8",
        "input": list(SHAPE),
        "torch": torch.__version__,
        "host": platform.node(),
        "cpu_threads": torch.get_num_threads(),
        "load_average": list(os.getloadavg()),
        "quick": args.quick,
        "cpu": None,
        "cuda": None,
    }
    sim = not args.no_sim
    if args.device in ("auto", "cpu"):
        report["cpu"] = measure(torch.device("cpu"), args.quick, sim, args.sim_samples)
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        report["cuda"] = measure(torch.device("cuda"), args.quick, sim, args.sim_samples)
    save("bench_gpu", report)


if __name__ == "__main__":
    main()

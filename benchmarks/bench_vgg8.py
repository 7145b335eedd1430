"""VGG8 / CIFAR-sized simulated inference: images/s on CPU threads and CUDA, and agreement.

cimsweep's VGG8 (DNN+NeuroSim's, batch norm; random seeded weights: no trained CIFAR-10 model
ships with the project) on random 3x32x32 images, 8-bit weights and inputs, bit-serial inputs,
one Monte-Carlo chip programmed once (timed apart). Settings (``SETTINGS``):

* ``issue``: bitcell 1, 128x128 subarrays, 5-bit ADC (issue 21's GPU target setting), read
  noise 0.02 and output noise 0.5 LSB (counter-based noise; integer cell levels plus the
  default off-state baseline);
* ``noisy``: ``issue`` plus programming noise 0.02 and 0.1 % stuck cells (bench_infer's noisy
  config: the ~0.4 images/s one-core baseline of issue 21);
* ``default_config``: the default sweep's operating point (config/config.yaml: 4-bit ADC
  with calibrated range, read noise 0.05, NeuroSim drift v 0.01 to one year, random
  direction).

On CPU each setting runs at every ``--threads`` count (same process, ``torch.set_num_threads``);
``--device cuda`` (or ``auto`` with a GPU) also runs it on CUDA and checks CPU-vs-GPU agreement:
the CPU chip and noise keys are copied to the GPU model, both simulate the same images, and
every CIM layer's output is compared (bit-identical expected where the partial sums are exact:
integer cell levels without the off-state baseline, none of ``SETTINGS``; float32 rounding
elsewhere: with the baseline the CPU's popcount reads add its share once per read, the CUDA
path's matmul cell by cell). Writes ``benchmarks/out/bench_vgg8.json``.

Usage::

    PYTHONPATH=src python benchmarks/bench_vgg8.py [--threads 1,2] [--device auto|cpu|cuda]
        [--quick] [--images N] [--reps R] [--settings issue,noisy,default_config]

``--quick``: 2 images per CPU measurement, 2 repetitions (about 3 minutes on 2 cores). Each
thread count reports its fastest repetition (thread counts interleaved), wall and process CPU
seconds: on a shared machine images per CPU second is the steadier figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _speed  # noqa: E402
from _util import save  # noqa: E402
from bench_gpu import _sync  # noqa: E402

from cimsweep.cim import cim_modules  # noqa: E402
from cimsweep.cim.chip import Chip  # noqa: E402
from cimsweep.cim.devices import NoiseStream  # noqa: E402

BASE: dict[str, Any] = {
    "weight_precision": 8,
    "input_precision": 8,
    "dac_precision": 1,
    "bitcell": 1,
    "sub_array": (128, 128),
    "parallel_read": 0,
}
SETTINGS: dict[str, dict[str, Any]] = {
    "issue": {**BASE, "adc_precision": 5, "read_noise": 0.02, "output_noise": 0.5},
    "noisy": {
        **BASE,
        "adc_precision": 5,
        "read_noise": 0.02,
        "output_noise": 0.5,
        "prog_noise": 0.02,
        "rate_stuck_0": 0.001,
        "rate_stuck_1": 0.001,
    },
    "default_config": {
        **BASE,
        "adc_precision": 4,
        "adc_range": "calibrated",
        "read_noise": 0.05,
        "v": 0.01,
        "t": 31_536_000.0,
        "detect": 0,
    },
}
BASELINE_IMAGES_PER_S = 0.4  # issue 21: one core, before the kernel work


def exact_sums(setting: str) -> bool:
    """Whether ``setting``'s partial sums are exact, so CPU and CUDA should be bit-identical:
    integer cell levels (no programming noise or drift) without the off-state baseline."""
    sim = SETTINGS[setting]
    float_cells = any(sim.get(k) for k in ("prog_noise", "v", "drift_model"))
    return sim.get("off_current") == "subtract" and not float_cells


def chip_to(chip: Chip, device: torch.device) -> Chip:
    """A copy of ``chip`` with every tensor on ``device``."""

    def move(v: Any) -> Any:
        if isinstance(v, torch.Tensor):
            return v.to(device)
        if isinstance(v, list | tuple):
            return type(v)(move(u) for u in v)
        return v

    return dataclasses.replace(
        chip, **{f.name: move(getattr(chip, f.name)) for f in dataclasses.fields(chip)}
    )


def build(
    setting: str, device: torch.device, x_cal: torch.Tensor
) -> tuple[nn.Module, float, float]:
    """The seeded VGG8 converted on ``device`` under ``setting`` (quantization and, where
    asked, ADC ranges calibrated on ``x_cal``), chip programmed; returns (model, programming
    seconds, calibration and conversion seconds)."""
    model, _, _ = _speed.workload("vgg8", 1)
    t0 = time.perf_counter()
    cm, prog = _speed.cimsweep_model(
        model.to(device), x_cal.to(device), device=device, **SETTINGS[setting]
    )
    return cm, prog, time.perf_counter() - t0 - prog


def timed(cm: nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """(wall seconds, process CPU seconds over all threads) of one simulated forward pass
    over ``x``; on a shared machine the CPU seconds move less than the wall time."""
    _sync(x.device)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        cm(x)
    _sync(x.device)
    return time.perf_counter() - t0, time.process_time() - c0


def layer_outputs(cm: nn.Module, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Every CIM layer's output and the logits of one pass (noise streams restarted)."""
    seen: dict[str, torch.Tensor] = {}
    hooks = []
    for m in cim_modules(cm):
        if m.noise is not None:
            m.noise.calls = 0
        hooks.append(
            m.register_forward_hook(
                lambda mod, inp, out: seen.__setitem__(mod.name, out.detach().cpu())
            )
        )
    with torch.no_grad():
        logits = cm(x).cpu()
    for h in hooks:
        h.remove()
    return seen, logits


def agreement(
    cpu: nn.Module, gpu: nn.Module, x: torch.Tensor, device: torch.device
) -> dict[str, Any]:
    """CPU vs ``device`` (the GPU model) on the same chip (copied) and noise keys, images
    ``x``."""
    for mc, mg in zip(cim_modules(cpu), cim_modules(gpu), strict=True):
        assert mc.chip is not None and mc.noise is not None
        mg.chip = chip_to(mc.chip, device)
        mg.noise = NoiseStream.__new__(NoiseStream)
        mg.noise.device, mg.noise.key, mg.noise.calls = device, mc.noise.key, 0
    out_c, log_c = layer_outputs(cpu, x)
    out_g, log_g = layer_outputs(gpu, x.to(device))
    layers = {
        n: {
            "identical_fraction": float((out_c[n] == out_g[n]).float().mean()),
            "max_abs_diff": float((out_c[n] - out_g[n]).abs().max()),
            "max_abs": float(out_c[n].abs().max()),
        }
        for n in out_c
    }
    return {
        "images": len(x),
        "bit_identical": all(v["identical_fraction"] == 1.0 for v in layers.values()),
        "logits_max_abs_diff": float((log_c - log_g).abs().max()),
        "argmax_agree": float((log_c.argmax(1) == log_g.argmax(1)).float().mean()),
        "layers": layers,
    }


def bench_setting(
    setting: str, threads: list[int], images: int, cuda_images: int | None, reps: int = 1
) -> dict[str, Any]:
    """CPU images/s per thread count (the fastest of ``reps`` passes); with ``cuda_images``,
    CUDA images/s and agreement."""
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(max(images, cuda_images or 0), *_speed.CIFAR_SHAPE, generator=gen)
    x_cal = torch.rand(16, *_speed.CIFAR_SHAPE, generator=gen)
    cpu, prog, cal = build(setting, torch.device("cpu"), x_cal)
    out: dict[str, Any] = {"sim": _speed.jsonable(SETTINGS[setting])}
    out["cpu"] = {"program_seconds": prog, "calibrate_seconds": cal, "images": images}
    out["cpu"]["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["cpu"]["threads"] = {}
    runs: dict[int, list[tuple[float, float]]] = {t: [] for t in threads}
    with torch.no_grad():
        cpu(x[:1])  # warm-up (kernel build, allocator)
    for _ in range(reps):  # thread counts interleaved: a busy machine's phases hit them all
        for t in threads:
            torch.set_num_threads(t)
            runs[t].append(timed(cpu, x[:images]))
    for t in threads:
        sec, cpu_s = min(runs[t])  # the least disturbed repetition
        ips = images / sec
        out["cpu"]["threads"][str(t)] = {
            "seconds": sec,
            "cpu_seconds": cpu_s,
            "images_per_s": ips,
            "images_per_cpu_second": images / cpu_s,
            "vs_baseline": ips / BASELINE_IMAGES_PER_S,
            "repetitions": [{"seconds": w, "cpu_seconds": c} for w, c in runs[t]],
        }
        print(
            f"{setting:15s} cpu  threads {t}  {images} images {sec:8.2f} s  {ips:7.3f} images/s  "
            f"({ips / BASELINE_IMAGES_PER_S:5.2f}x the 0.4 images/s baseline; "
            f"CPU {cpu_s:.1f} s: {images / cpu_s:.3f} images per CPU second; "
            f"program {prog:.1f} s, calibrate {cal:.1f} s)",
            flush=True,
        )
    if len(threads) > 1:
        t1, tn = out["cpu"]["threads"][str(threads[0])], out["cpu"]["threads"][str(threads[-1])]
        out["cpu"]["scaling"] = tn["images_per_s"] / t1["images_per_s"]
    if cuda_images:
        gpu, gprog, _ = build(setting, torch.device("cuda"), x_cal)
        xg = x[:cuda_images].to("cuda")
        timed(gpu, xg[: min(8, cuda_images)])  # warm-up (kernels, allocator)
        sec, _ = timed(gpu, xg)
        out["cuda"] = {
            "gpu": torch.cuda.get_device_name(),
            "program_seconds": gprog,
            "images": cuda_images,
            "seconds": sec,
            "images_per_s": cuda_images / sec,
            "peak_memory_bytes": torch.cuda.max_memory_allocated(),
        }
        out["agreement"] = agreement(cpu, gpu, x[: min(2, images)], torch.device("cuda"))
        out["agreement"]["exact_partial_sums"] = exact_sums(setting)
        print(
            f"{setting:15s} cuda {cuda_images} images {sec:8.2f} s  "
            f"{cuda_images / sec:8.1f} images/s  CPU-vs-GPU bit-identical "
            f"{out['agreement']['bit_identical']} (logits max diff "
            f"{out['agreement']['logits_max_abs_diff']:.3g})",
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", default="1,2", help="CPU thread counts, e.g. 1,2")
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--quick", action="store_true", help="2 images per CPU measurement")
    ap.add_argument("--images", type=int, default=None, help="images per CPU measurement")
    ap.add_argument("--cuda-images", type=int, default=256, help="images per CUDA measurement")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--reps", type=int, default=None, help="passes per thread count (min)")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device is available")
    threads = [int(t) for t in args.threads.split(",") if t]
    settings = [s for s in args.settings.split(",") if s]
    if set(settings) - set(SETTINGS):
        ap.error(f"--settings: unknown {sorted(set(settings) - set(SETTINGS))}")
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    images = args.images or (2 if args.quick else 8)
    reps = args.reps or (2 if args.quick else 3)
    report: dict[str, Any] = {
        **_speed.host_info(torch.get_num_threads()),
        "model": "vgg8 (random weights)",
        "input": list(_speed.CIFAR_SHAPE),
        "quick": args.quick,
        "baseline_images_per_s": BASELINE_IMAGES_PER_S,
        "target": ">= 4x the baseline on 2 CPU cores; >= 100 images/s on one GPU (issue)",
        "settings": {},
    }
    for s in settings:
        report["settings"][s] = bench_setting(
            s, threads, images, args.cuda_images if use_cuda else None, reps
        )
    save("bench_vgg8", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

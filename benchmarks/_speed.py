"""Shared pieces of the speed-comparison benchmarks (bench_aihwkit, bench_neurosim_v15_speed,
bench_vgg8): the workloads, cimsweep's side of a comparison and interleaved timing.

A *workload* is a float model, a batch of inputs and calibration inputs. cimsweep's side is the
model calibrated (8-bit max/percentile ranges), converted (:func:`cimsweep.cim.convert`) and
programmed once; its timed call is one ``cim``-mode forward pass over the programmed chip.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import torch
from torch import nn

from cimsweep.cim import convert, program, set_mode, sim_config
from cimsweep.cim.models.adc import adc_model
from cimsweep.nn.models import build_model
from cimsweep.nn.quant import calibrate
from cimsweep.workflow.tabulate import _jsonable as jsonable  # noqa: F401  (tuples as lists)

DIGITS_SHAPE = (1, 8, 8)
CIFAR_SHAPE = (3, 32, 32)
WORKLOADS = ("mlp", "cnn", "linear512", "vgg8")
# Batch of each workload (the table; VGG8: a few CIFAR-sized images).
BATCH = {"mlp": 10_240, "cnn": 2_048, "linear512": 4_096, "vgg8": 64}
QUICK_BATCH = {"mlp": 2_048, "cnn": 512, "linear512": 1_024, "vgg8": 8}


def set_threads(n: int) -> None:
    """Use ``n`` threads in torch and in the BLAS / OpenMP pools of this process, including
    libraries loaded later (aihwkit's OpenBLAS reads the environment when it loads)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    torch.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(n)


def threadpools() -> list[dict[str, Any]]:
    """The loaded BLAS / OpenMP pools and their thread counts (threadpoolctl; [] without)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {"api": i["internal_api"], "threads": i["num_threads"], "library": i["filepath"]}
        for i in threadpool_info()
    ]


def workload(name: str, batch: int, seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """(float model in eval mode, inputs of ``batch`` samples, 256 calibration inputs).

    ``mlp``/``cnn``: cimsweep's digits models (random weights, seeded); ``linear512``: one
    bias-free 512x512 Linear; ``vgg8``: cimsweep's VGG8 on CIFAR-sized inputs. Inputs are
    post-ReLU-like (non-negative) uniform values, like images.
    """
    torch.manual_seed(seed)
    if name == "linear512":
        model: nn.Module = nn.Sequential(nn.Linear(512, 512, bias=False))
        shape: tuple[int, ...] = (512,)
    elif name in ("mlp", "cnn"):
        model, shape = build_model(name, DIGITS_SHAPE, 10), DIGITS_SHAPE
    elif name == "vgg8":
        model, shape = build_model("vgg8", CIFAR_SHAPE, 10), CIFAR_SHAPE
    else:
        raise ValueError(f"unknown workload {name!r}; expected one of {WORKLOADS}")
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.rand(batch, *shape, generator=gen)
    x_cal = torch.rand(min(256, batch), *shape, generator=gen)
    return model.eval(), x, x_cal


def cimsweep_model(
    model: nn.Module,
    x_cal: torch.Tensor,
    seed: int = 0,
    device: torch.device | None = None,
    **sim: Any,
) -> tuple[nn.Module, float]:
    """``model`` converted under ``sim`` (overrides of :func:`sim_config`), calibrated on
    ``x_cal`` (quantization ranges; ADC ranges too where ``adc_range`` asks for it) and
    programmed with one chip from a generator on ``device`` (default CPU) seeded ``seed``;
    returns (model, programming seconds)."""
    values = sim_config(**sim)
    ranges = calibrate(
        model,
        x_cal,
        input_precision=values["input_precision"],
        weight_precision=values["weight_precision"],
        input_method=values["input_calib_method"],
        weight_method=values["weight_calib_method"],
        percentile=values["calib_percentile"],
    )
    cm = convert(model, ranges, values)
    with torch.no_grad():
        if adc_model(values).calibrated:
            set_mode(cm, "calibrate")
            cm(x_cal)
            set_mode(cm, "cim")
        t0 = time.perf_counter()
        program(cm, torch.Generator(device=device or "cpu").manual_seed(seed))
    return cm, time.perf_counter() - t0


def interleaved(fns: dict[str, Callable[[], Any]], reps: int) -> dict[str, dict[str, Any]]:
    """Time every function ``reps`` times, interleaved (one call of each per round, so a
    shared machine's slow phases hit all of them), after one untimed warm-up call each.

    Returns name -> ``{"median_s", "min_s", "times_s"}`` (seconds per call).
    """
    with torch.no_grad():
        for fn in fns.values():
            fn()
        times: dict[str, list[float]] = {k: [] for k in fns}
        for _ in range(reps):
            for k, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                times[k].append(time.perf_counter() - t0)
    return {
        k: {"median_s": statistics.median(t), "min_s": min(t), "times_s": t}
        for k, t in times.items()
    }


def host_info(threads: int) -> dict[str, Any]:
    """Facts that make a timing reproducible: date (UTC), host, CPU, torch, threads, load."""
    return {
        "date_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "threads": threads,
        "load_average": list(os.getloadavg()),
    }

"""cimsweep vs IBM aihwkit 1.2.0's C++ analog tile on the same work, in one process.

Same work, one analog pass per tile: 8-bit inputs applied at once (cimsweep ``dac_precision``
8; aihwkit ``forward.inp_res = 1/(2**8-2)``), one weight slice (cimsweep ``bitcell`` 7,
differential pair, 8-bit weights), 512x512 subarrays / tiles read whole, an 8-bit ADC
(aihwkit ``forward.out_res = 1/(2**8-2)``), read and programming noise, PCM drift to one day
(86,400 s) with global drift compensation (aihwkit ``PCMLikeNoiseModel(g_max=25)``,
``GlobalDriftCompensation()``, ``program_analog_weights()`` then
``drift_analog_weights(86400)``, as /work/shared/aihwkit/README.md sets it).

Workloads: digits MLP (batch 10,240), digits CNN (2,048), one Linear 512x512 (4,096) and
cimsweep's VGG8 on CIFAR-sized inputs (64), random seeded weights. Per workload: float forward,
aihwkit forward, cimsweep forward (each over its programmed chip), interleaved repetitions at
the same thread count, medians. Prints aihwkit/float, cimsweep/float and aihwkit/cimsweep
(target: >= 3) and writes ``benchmarks/out/bench_aihwkit.json``.

Usage (in a venv where aihwkit is installed, see docs/speed.md)::

    PYTHONPATH=src python benchmarks/bench_aihwkit.py [--quick] [--threads N] [--reps N]
        [--workloads mlp,cnn,linear512,vgg8]

``--quick``: smaller batches and 3 repetitions (under 2 minutes on 2 cores). Exits 0 with
"aihwkit not installed: skipped" where ``import aihwkit`` fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _speed  # noqa: E402
from _util import save  # noqa: E402

DRIFT_T = 86_400.0  # s, one day
# cimsweep's side of the same work (PCM drift exponent and noise levels of the order of
# aihwkit's PCM-like model: nu ~ 0.05 +- 0.01, 2 % read and programming noise).
CIMSWEEP_SIM: dict[str, Any] = {
    "weight_precision": 8,
    "input_precision": 8,
    "dac_precision": 8,
    "bitcell": 7,
    "signed_mapping": "differential",
    "sub_array": (512, 512),
    "parallel_read": 0,
    "adc_precision": 8,
    "read_noise": 0.02,
    "prog_noise": 0.02,
    "drift_model": "pcm",
    "t": DRIFT_T,
    "v": 0.05,
    "nu_std": 0.01,
    "drift_compensation": 1,
    "input_calib_method": "max",
}


def aihwkit_model(model: nn.Module, seed: int = 0) -> tuple[nn.Module, float]:
    """``model`` on aihwkit inference tiles (the same-work setting), programmed and drifted
    to one day; returns (analog model, programming + drift seconds)."""
    from aihwkit.inference import GlobalDriftCompensation, PCMLikeNoiseModel
    from aihwkit.nn.conversion import convert_to_analog
    from aihwkit.simulator.configs import InferenceRPUConfig

    rpu = InferenceRPUConfig()
    rpu.forward.inp_res = 1 / (2**8 - 2)
    rpu.forward.out_res = 1 / (2**8 - 2)
    rpu.noise_model = PCMLikeNoiseModel(g_max=25.0)
    rpu.drift_compensation = GlobalDriftCompensation()
    rpu.mapping.max_input_size = 512
    rpu.mapping.max_output_size = 512
    torch.manual_seed(seed)
    analog = convert_to_analog(model, rpu).eval()
    t0 = time.perf_counter()
    with torch.no_grad():
        analog.program_analog_weights()
        analog.drift_analog_weights(DRIFT_T)
    return analog, time.perf_counter() - t0


def bench(name: str, batch: int, reps: int) -> dict[str, Any]:
    """One workload: medians and ratios (see the module docstring)."""
    model, x, x_cal = _speed.workload(name, batch)
    analog, ai_prog = aihwkit_model(model)
    cm, cs_prog = _speed.cimsweep_model(model, x_cal, **CIMSWEEP_SIM)
    times = _speed.interleaved(
        {"float": lambda: model(x), "aihwkit": lambda: analog(x), "cimsweep": lambda: cm(x)},
        reps,
    )
    med = {k: v["median_s"] for k, v in times.items()}
    with torch.no_grad():  # same work, comparable outputs: both near the float result
        ref, ys = model(x), {"aihwkit": analog(x), "cimsweep": cm(x)}
    rel = {k: float((y - ref).norm() / ref.norm()) for k, y in ys.items()}
    out = {
        "batch": batch,
        "seconds": times,
        "program_seconds": {"aihwkit": ai_prog, "cimsweep": cs_prog},
        "aihwkit_over_float": med["aihwkit"] / med["float"],
        "cimsweep_over_float": med["cimsweep"] / med["float"],
        "aihwkit_over_cimsweep": med["aihwkit"] / med["cimsweep"],
        "relative_error_vs_float": rel,
    }
    print(
        f"{name:10s} batch {batch:6d}  float {med['float'] * 1e3:8.2f} ms  "
        f"aihwkit {med['aihwkit'] * 1e3:9.2f} ms ({out['aihwkit_over_float']:6.1f}x)  "
        f"cimsweep {med['cimsweep'] * 1e3:9.2f} ms ({out['cimsweep_over_float']:6.1f}x)  "
        f"aihwkit/cimsweep {out['aihwkit_over_cimsweep']:5.2f}  "
        f"(rel. error vs float: aihwkit {rel['aihwkit']:.3f}, cimsweep {rel['cimsweep']:.3f})",
        flush=True,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches, 3 repetitions")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (both simulators)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 3 / 7)")
    ap.add_argument("--workloads", default=",".join(_speed.WORKLOADS))
    args = ap.parse_args(argv)
    names = [w for w in args.workloads.split(",") if w]
    unknown = sorted(set(names) - set(_speed.WORKLOADS))
    if unknown:
        ap.error(f"--workloads: unknown {unknown}; expected some of {list(_speed.WORKLOADS)}")
    _speed.set_threads(args.threads)  # before aihwkit loads its OpenBLAS
    try:
        import aihwkit
    except ImportError as exc:
        print(f"aihwkit not installed: skipped ({exc})")
        return 0
    reps = args.reps or (3 if args.quick else 7)
    batches = _speed.QUICK_BATCH if args.quick else _speed.BATCH
    report: dict[str, Any] = {
        **_speed.host_info(args.threads),
        "aihwkit": aihwkit.__version__,
        "quick": args.quick,
        "reps": reps,
        "cimsweep_sim": _speed.jsonable(CIMSWEEP_SIM),
        "target": "aihwkit_over_cimsweep >= 3",
        "workloads": {},
    }
    for name in names:
        report["workloads"][name] = bench(name, batches[name], reps)
    report["threadpools"] = _speed.threadpools()  # every pool at --threads (checked here)
    save("bench_aihwkit", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

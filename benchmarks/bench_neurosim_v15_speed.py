"""cimsweep vs NeuroSim V1.5's Python backbone on the same layers, in one process.

The layers are those of the aihwkit comparison's workloads (bench_aihwkit.py): every Linear and
Conv2d of the digits MLP and CNN, the Linear 512x512 and cimsweep's VGG8, each as an integer
layer (weights in [-127, 127], every output row full scale; post-ReLU-like inputs in [0, 127],
seeded) with its own input shape. NeuroSim runs them through its CIMLinear / CIMConv2d on a
patched scratch copy of the checkout (``_neurosim_v15.py``: its four CPU patches,
exact max-calibrated quantizers); cimsweep runs the same weights and inputs as a converted
Linear / Conv2d over one programmed chip. Two settings, both with read noise 0.05:

* ``bit_serial``: ``dac_precision`` 1, ``bitcell`` 1, 128x128 subarrays, 128-row reads, 5-bit
  ADC (8 input cycles x 8 cells per weight, NeuroSim's default operating point);
* ``bit_parallel``: ``dac_precision`` 8, ``bitcell`` 7, 512x512 subarrays read whole, 8-bit ADC.

cimsweep runs each twice: under its own semantics (``cimsweep``: additive read noise drawn per
read) and under ``preset: neurosim_v1.5`` with the layer kept analog (``cimsweep_ns``:
NeuroSim's meanings, multiplicative read noise drawn per cell and input cycle, which is the
noise work NeuroSim does). Per layer and setting: the three calls interleaved, medians; a
workload's time is the sum over its layers. Prints NeuroSim / cimsweep per workload and side
(target: >= 3) and writes
``benchmarks/out/bench_neurosim_v15_speed.json``.

Usage::

    PYTHONPATH=src python benchmarks/bench_neurosim_v15_speed.py [--neurosim PATH] [--quick]
        [--threads N] [--settings bit_serial,bit_parallel] [--workloads mlp,cnn,linear512,vgg8]

``PATH`` (default ``$CIMSWEEP_NEUROSIM_DIR/v1.5-dev``, else ``../shared/neurosim/v1.5-dev``) is
a checkout of ``neurosim/NeuroSim``, branch 2DInferenceV1.5-dev. ``--quick``: smaller batches,
3 repetitions, no VGG8 bit-serial (about 2 minutes on 2 idle cores). Exits 0 with a
message where no checkout is found.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _neurosim_v15 as ns  # noqa: E402
import _speed  # noqa: E402
from _util import REPO, save  # noqa: E402

from cimsweep.nn.models import cim_layers  # noqa: E402

NOISE = 0.05
SETTINGS: dict[str, dict[str, Any]] = {
    "bit_serial": {
        "dac_precision": 1,
        "bitcell": 1,
        "sub_array": (128, 128),
        "parallel_read": 128,
        "adc_precision": 5,
    },
    "bit_parallel": {
        "dac_precision": 8,
        "bitcell": 7,
        "sub_array": (512, 512),
        "parallel_read": 512,
        "adc_precision": 8,
    },
}
# Samples per workload (VGG8: images; NeuroSim runs every layer of it at this batch).
BATCH = {"mlp": 2_048, "cnn": 512, "linear512": 1_024, "vgg8": 2}
# cimsweep's sides: its own semantics, and NeuroSim's (per-cycle multiplicative read noise on
# the cells, offset mapping: the noise work NeuroSim does).
SIDES = {"cimsweep": "cimsweep", "cimsweep_ns": "neurosim_v1.5"}
QUICK_BATCH = {"mlp": 512, "cnn": 128, "linear512": 256, "vgg8": 1}
# --quick leaves out VGG8 bit-serial (NeuroSim: over 20 s per image and call on one core)
QUICK_SKIP = {("vgg8", "bit_serial")}


def default_checkout() -> Path:
    """``$CIMSWEEP_NEUROSIM_DIR/v1.5-dev``, else ``../shared/neurosim/v1.5-dev``."""
    root = Path(os.environ.get("CIMSWEEP_NEUROSIM_DIR", REPO.parent / "shared" / "neurosim"))
    return root / "v1.5-dev"


def integer_layers(name: str, batch: int, seed: int = 0) -> list[dict[str, Any]]:
    """Every Linear/Conv2d of workload ``name`` as an integer layer: kind, weight, input
    (its shape as in the model at ``batch`` samples) and conv geometry."""
    model, x, _ = _speed.workload(name, batch, seed)
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = [
        m.register_forward_hook(
            lambda mod, inp, out, n=n: shapes.__setitem__(n, tuple(inp[0].shape))
        )
        for n, m in cim_layers(model)
    ]
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    gen = torch.Generator().manual_seed(seed + 2)
    out = []
    for n, m in cim_layers(model):
        w = torch.randint(-127, 128, m.weight.shape, generator=gen)
        flat = w.reshape(w.shape[0], -1)
        flat[:, 0] = 127  # every output row full scale: exact max calibration per row
        spec: dict[str, Any] = {"name": n, "weight": w, "input": None}
        spec["input"] = torch.randint(0, 128, shapes[n], generator=gen).to(torch.float32)
        spec["input"].view(-1)[0] = 127.0  # the input range reaches 127 exactly
        if isinstance(m, nn.Conv2d):
            spec.update(kind="conv", stride=m.stride[0], padding=m.padding[0])
        else:
            spec.update(kind="linear")
        out.append(spec)
    return out


def cimsweep_layer(spec: dict[str, Any], setting: dict[str, Any], preset: str) -> nn.Module:
    """The integer layer as a programmed cimsweep model (max-calibrated 8-bit quantizers)
    under ``preset`` (``neurosim_v1.5``: NeuroSim's meanings, the layer kept analog)."""
    w = spec["weight"].to(torch.float32)
    if spec["kind"] == "conv":
        layer: nn.Module = nn.Conv2d(
            w.shape[1], w.shape[0], w.shape[2], spec["stride"], spec["padding"], bias=False
        )
    else:
        layer = nn.Linear(w.shape[1], w.shape[0], bias=False)
    with torch.no_grad():
        layer.weight.copy_(w)
    sim = {**setting, "read_noise": NOISE, "input_calib_method": "max", "preset": preset}
    if preset != "cimsweep":
        sim["digital_layers"] = "none"
    sim["parallel_read"] = 0  # all rows of the subarray (= the NeuroSim value here)
    cm, _ = _speed.cimsweep_model(nn.Sequential(layer).eval(), spec["input"][:256], **sim)
    return cm


def neurosim_layer(pq: Any, spec: dict[str, Any], setting: dict[str, Any]) -> Any:
    """The integer layer as NeuroSim's CIMLinear / CIMConv2d (hardware mode, read noise)."""
    args = ns.cim_args(**setting, read_noise=NOISE)
    conv = {"stride": spec["stride"], "padding": spec["padding"]} if spec["kind"] == "conv" else {}
    return ns.integer_layer(pq, spec["kind"], spec["weight"], args, **conv)


def bench(pq: Any, name: str, batch: int, setting: str, reps: int) -> dict[str, Any]:
    """Seconds per call of every layer of workload ``name`` under ``setting``; the sums and
    their ratio."""
    layers = {}
    for spec in integer_layers(name, batch):
        x = spec["input"]
        torch.manual_seed(0)
        nsl = neurosim_layer(pq, spec, SETTINGS[setting])
        calls = {"neurosim": partial(nsl, x)}
        for key, preset in SIDES.items():
            calls[key] = partial(cimsweep_layer(spec, SETTINGS[setting], preset), x)
        times = _speed.interleaved(calls, reps)
        layers[spec["name"]] = {
            "input_shape": list(x.shape),
            "weight_shape": list(spec["weight"].shape),
            "seconds": times,
        }
    total = {k: sum(v["seconds"][k]["median_s"] for v in layers.values()) for k in calls}
    ratios = {f"neurosim_over_{k}": total["neurosim"] / total[k] for k in SIDES}
    print(
        f"{name:10s} {setting:12s} batch {batch:5d}  NeuroSim {total['neurosim']:8.3f} s  "
        f"cimsweep {total['cimsweep']:8.3f} s ({ratios['neurosim_over_cimsweep']:6.2f}x)  "
        f"cimsweep@neurosim_v1.5 {total['cimsweep_ns']:8.3f} s "
        f"({ratios['neurosim_over_cimsweep_ns']:6.2f}x)",
        flush=True,
    )
    return {"batch": batch, "layers": layers, "seconds": total, **ratios}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurosim", type=Path, default=None, help="NeuroSim V1.5 checkout")
    ap.add_argument("--quick", action="store_true", help="smaller batches, 3 repetitions")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (both simulators)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 3 / 5)")
    ap.add_argument("--settings", default=",".join(SETTINGS))
    ap.add_argument("--workloads", default=",".join(_speed.WORKLOADS))
    args = ap.parse_args(argv)
    checkout = args.neurosim or default_checkout()
    if not (checkout / ns.BACKBONE).is_dir():
        print(f"no NeuroSim V1.5 checkout at {checkout} (expected {ns.BACKBONE}/): skipped")
        return 0
    settings = [s for s in args.settings.split(",") if s]
    names = [w for w in args.workloads.split(",") if w]
    for flag, got, known in (("--settings", settings, SETTINGS), ("--workloads", names, BATCH)):
        if set(got) - set(known):
            ap.error(
                f"{flag}: unknown {sorted(set(got) - set(known))}; expected some of {list(known)}"
            )
    _speed.set_threads(args.threads)
    reps = args.reps or (3 if args.quick else 5)
    batches = QUICK_BATCH if args.quick else BATCH
    with tempfile.TemporaryDirectory(prefix="cimsweep-neurosim-") as scratch:
        pq = ns.load_backbone(checkout, Path(scratch))
        report: dict[str, Any] = {
            **_speed.host_info(args.threads),
            "neurosim": {"checkout": str(checkout), "cpu_patches": [p.why for p in ns.CPU_PATCHES]},
            "quick": args.quick,
            "reps": reps,
            "read_noise": NOISE,
            "settings": {s: _speed.jsonable(SETTINGS[s]) for s in settings},
            "target": "neurosim_over_cimsweep >= 3",
            "workloads": {},
        }
        for name in names:
            report["workloads"][name] = {
                s: bench(pq, name, batches[name], s, reps)
                for s in settings
                if not (args.quick and (name, s) in QUICK_SKIP)
            }
    save("bench_neurosim_v15_speed", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

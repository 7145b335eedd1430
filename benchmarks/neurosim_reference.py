"""Generate the NeuroSim V1.5 reference file that cimsweep's NeuroSim-semantics tests read.

    PYTHONPATH=src python benchmarks/neurosim_reference.py --neurosim PATH [--out tests/data]

``PATH`` is a checkout of ``neurosim/NeuroSim`` (branch ``2DInferenceV1.5-dev``). The script
runs NeuroSim's own CIM layers (on a patched scratch copy, see ``_neurosim_v15.py``) on seeded
integer layers and NeuroSim's quantization flow on the default sweep's digits MLP and CNN, and
writes ``neurosim_v1.5_reference.{json,npz}``. Format: docs/neurosim_reference.md.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _neurosim_v15 as ns  # noqa: E402

from cimsweep.io import write_json, write_with  # noqa: E402
from cimsweep.workflow import config as cfg  # noqa: E402
from cimsweep.workflow import steps  # noqa: E402
from cimsweep.workflow.params import PARAMS  # noqa: E402

GENERATOR_VERSION = "1"
NEUROSIM = {
    "repo": "neurosim/NeuroSim",
    "branch": "2DInferenceV1.5-dev",
    "commit": "cddb7d346a9f1fc5a39b6c3abcb378c4b2dfc555",
    "backbone": "pytorch-quantization/pytorch_quantization (cim/ CIMLinear, CIMConv2d, macro.CIM)",
}
JSON_NAME = "neurosim_v1.5_reference.json"
NPZ_NAME = "neurosim_v1.5_reference.npz"
SEED = 20261201  # root of every draw below
ON_OFF_10 = {"on_state": 1e-14, "off_state": 1e-15}  # NeuroSim's shipped mem_states.csv levels


def cimsweep_names(settings: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Split NeuroSim settings into those with a cimsweep parameter of the same name/meaning
    slot and those without one."""
    mapped = {k: v for k, v in settings.items() if k in PARAMS}
    if "sub_array" in mapped:
        mapped["sub_array"] = list(mapped["sub_array"])
    return mapped, sorted(k for k in settings if k not in PARAMS)


# ---- layers ---------------------------------------------------------------------------------
def _full_scale_rows(w: torch.Tensor) -> torch.Tensor:
    """Make every output row (channel) of an integer weight reach |w| = 127 (exact max
    calibration per row)."""
    flat = w.reshape(w.shape[0], -1)
    idx = flat.abs().argmax(dim=1)
    sign = torch.where(flat[torch.arange(len(flat)), idx] < 0, -1, 1)
    flat[torch.arange(len(flat)), idx] = 127 * sign
    return flat.reshape(w.shape)


def make_layers() -> dict[str, dict[str, Any]]:
    """The fixed integer layers: input, weight, ideal product and conv geometry."""
    g = torch.Generator().manual_seed(SEED)
    w_lin = _full_scale_rows(torch.randint(-127, 128, (128, 256), generator=g))
    x_signed = torch.randint(-127, 128, (32, 256), generator=g)
    x_signed[0, 0], x_signed[1, 1] = -127, 127
    # Post-ReLU-like activations: non-negative, about half zero, max 127.
    x_relu = torch.randint(-127, 128, (32, 256), generator=g).clamp(min=0)
    x_relu[0, 0] = 127
    w_conv = _full_scale_rows(torch.randint(-127, 128, (32, 16, 3, 3), generator=g))
    x_conv = torch.randint(-127, 128, (2, 16, 8, 8), generator=g).clamp(min=0)
    x_conv[0, 0, 0, 0] = 127
    # All-positive inputs and weights (NeuroSim's negative-shift bug).
    x_pos = torch.randint(1, 128, (32, 256), generator=g)
    x_pos[0, 0] = 127
    w_pos = torch.randint(1, 128, (128, 256), generator=g)
    w_pos[:, 0] = 127
    layers: dict[str, dict[str, Any]] = {
        "linear256x128_signed": {"type": "linear", "x": x_signed, "w": w_lin},
        "linear256x128_relu": {"type": "linear", "x": x_relu, "w": w_lin},
        "linear256x128_positive": {"type": "linear", "x": x_pos, "w": w_pos},
        "conv16x32k3": {"type": "conv", "x": x_conv, "w": w_conv, "stride": 1, "padding": 1},
    }
    for spec in layers.values():
        x, w = spec["x"].to(torch.int64), spec["w"].to(torch.int64)
        if spec["type"] == "linear":
            spec["ideal"] = x @ w.T
        else:
            ideal = F.conv2d(x.double(), w.double(), stride=spec["stride"], padding=spec["padding"])
            spec["ideal"] = ideal.round().to(torch.int64)
    return layers


def run_layer(pq: Any, spec: dict[str, Any], settings: dict[str, Any], seed: int) -> np.ndarray:
    """One NeuroSim forward call on a fresh layer (``seed``: global torch RNG, as NeuroSim's
    flow seeds it); the integer output (the layer has scale 1 and no bias)."""
    torch.manual_seed(seed)
    conv = {"stride": spec["stride"], "padding": spec["padding"]} if spec["type"] == "conv" else {}
    layer = ns.integer_layer(pq, spec["type"], spec["w"], ns.cim_args(**settings), **conv)
    with torch.no_grad():
        y = layer(spec["x"].to(torch.float32))
    out = y.double().numpy()
    if not np.array_equal(out, np.round(out)):
        raise RuntimeError(
            f"NeuroSim output not integral (max frac {np.abs(out - out.round()).max()})"
        )
    return out.round().astype(np.int64)


# ---- cases ----------------------------------------------------------------------------------
def case_list(quick: bool) -> list[dict[str, Any]]:
    """Every case: id, layer, kind, effect, NeuroSim settings (and trials if stochastic)."""
    n = 8 if quick else 48
    out: list[dict[str, Any]] = []

    def add(layer: str, name: str, kind: str, effect: str, trials: int = 0, **s: Any) -> None:
        out.append(
            {
                "id": f"{layer}/{name}",
                "layer": layer,
                "kind": kind,
                "effect": effect,
                "settings": s,
                "trials": trials,
            }
        )

    for layer in ("linear256x128_signed", "linear256x128_relu", "conv16x32k3"):
        add(layer, "zero_noise_adc7", "deterministic", "adc", adc_precision=7)
        add(layer, "software_adc8", "deterministic", "adc", adc_precision=8, hardware=0)
        for adc in range(3, 9):
            add(layer, f"adc{adc}", "deterministic", "adc", adc_precision=adc)
        for pr in (128, 64, 32):
            for adc in (4, 5):
                add(
                    layer,
                    f"pr{pr}_adc{adc}",
                    "deterministic",
                    "parallel_read",
                    parallel_read=pr,
                    adc_precision=adc,
                )
        for adc in (5, 8):
            add(layer, f"dac4_adc{adc}", "deterministic", "dac", dac_precision=4, adc_precision=adc)
            add(
                layer,
                f"bitcell2_adc{adc}",
                "deterministic",
                "bitcell",
                bitcell=2,
                adc_precision=adc,
            )
        add(
            layer,
            "dac4_bitcell2_pr32_adc8",
            "deterministic",
            "dac",
            dac_precision=4,
            bitcell=2,
            parallel_read=32,
            adc_precision=8,
        )
    lay = "linear256x128_relu"
    year = 31536000.0
    for tgt in (0.0, 0.5):
        add(
            lay,
            f"drift_detect1_target{tgt}",
            "deterministic",
            "retention",
            adc_precision=8,
            t=year,
            v=0.01,
            detect=1,
            target=tgt,
        )
    add(
        lay,
        "drift_detect1_bitcell2",
        "deterministic",
        "retention",
        adc_precision=8,
        bitcell=2,
        t=year,
        v=0.01,
        detect=1,
        target=0.5,
    )
    for lay in ("linear256x128_relu", "linear256x128_signed"):
        for rn in (0.05, 0.1, 0.2):
            add(
                lay,
                f"read_noise{rn}_adc8",
                "stochastic",
                "read_noise",
                n,
                adc_precision=8,
                read_noise=rn,
            )
    lay = "linear256x128_relu"
    for rn in (0.05, 0.1, 0.2):
        add(
            lay,
            f"read_noise{rn}_onoff10_adc8",
            "stochastic",
            "read_noise",
            n,
            adc_precision=8,
            read_noise=rn,
            **ON_OFF_10,
        )
        add(
            lay,
            f"read_noise{rn}_adc5",
            "stochastic",
            "read_noise",
            n,
            adc_precision=5,
            read_noise=rn,
        )
    add(
        lay,
        "read_noise0.1_bitcell2_dac4_adc8",
        "stochastic",
        "read_noise",
        n,
        adc_precision=8,
        read_noise=0.1,
        bitcell=2,
        dac_precision=4,
    )
    add(
        "conv16x32k3",
        "read_noise0.1_adc8",
        "stochastic",
        "read_noise",
        n,
        adc_precision=8,
        read_noise=0.1,
    )
    for r1 in (0.01, 0.05):
        add(lay, f"stuck1_{r1}_adc8", "stochastic", "stuck_at", n, adc_precision=8, rate_stuck_1=r1)
    add(lay, "stuck0_0.01_adc8", "stochastic", "stuck_at", n, adc_precision=8, rate_stuck_0=0.01)
    add(
        lay,
        "stuck0_0.01_stuck1_0.01_adc8",
        "stochastic",
        "stuck_at",
        n,
        adc_precision=8,
        rate_stuck_0=0.01,
        rate_stuck_1=0.01,
    )
    for t in (1e4, year):
        add(
            lay,
            f"drift_random_t{t:g}_adc8",
            "stochastic",
            "retention",
            n,
            adc_precision=8,
            t=t,
            v=0.01,
            detect=0,
        )
    for on in (0.5, 1.0):
        add(
            lay,
            f"output_noise{on}_adc8",
            "stochastic",
            "output_noise",
            n,
            adc_precision=8,
            output_noise=on,
        )
    add(
        lay,
        "output_noise1.0_read_noise0.2_adc8",
        "stochastic",
        "output_noise",
        n,
        adc_precision=8,
        output_noise=1.0,
        read_noise=0.2,
    )
    for adc in (7, 8):
        add("linear256x128_positive", f"adc{adc}", "deterministic", "bug", adc_precision=adc)
    return out


def error_stats(
    outs: list[np.ndarray], ideal: np.ndarray
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Mean/RMS error vs the ideal product over trials, with standard errors."""
    err = [o - ideal for o in outs]
    m = np.array([e.mean() for e in err])
    r = np.array([math.sqrt((e.astype(np.float64) ** 2).mean()) for e in err])
    n = len(outs)
    ideal_rms = math.sqrt((ideal.astype(np.float64) ** 2).mean())
    rms = math.sqrt(float((r**2).mean()))
    stats = {
        "n_trials": n,
        "n_elements": int(ideal.size),
        "mean": float(m.mean()),
        "mean_se": float(m.std(ddof=1) / math.sqrt(n)),
        "rms": rms,
        "rms_se": float(r.std(ddof=1) / math.sqrt(n)),
        "rel_rms": rms / ideal_rms,
        "ideal_rms": ideal_rms,
    }
    return stats, m, r


def run_cases(pq: Any, layers: dict[str, Any], quick: bool, arrays: dict[str, np.ndarray]):
    """Run every case; fill ``arrays``; return the JSON case entries."""
    entries = []
    for k, case in enumerate(case_list(quick)):
        spec = layers[case["layer"]]
        settings = case["settings"]
        ideal = spec["ideal"].numpy()
        full = vars(ns.cim_args(**settings))
        neurosim = {n: full[n] for n in ns.NEUROSIM_DEFAULTS}
        mapped, unmapped = cimsweep_names(neurosim)
        entry = {k2: case[k2] for k2 in ("id", "layer", "kind", "effect")}
        entry.update({"neurosim": neurosim, "cimsweep": mapped, "unmapped": unmapped})
        seed0 = SEED + 1000 * k
        t0 = time.perf_counter()
        if case["kind"] == "deterministic":
            out = run_layer(pq, spec, settings, seed0)
            arrays[f"{case['id']}/output"] = out.astype(np.int32)
            e = (out - ideal).astype(np.float64)
            entry["npz"] = {"output": f"{case['id']}/output"}
            entry["exact_vs_ideal"] = {
                "max_abs_err": float(np.abs(e).max()),
                "rms_err": float(np.sqrt((e**2).mean())),
                "rel_rms": float(np.sqrt((e**2).mean() / (ideal.astype(np.float64) ** 2).mean())),
                "frac_equal": float((e == 0).mean()),
            }
        else:
            outs = [run_layer(pq, spec, settings, seed0 + t) for t in range(case["trials"])]
            stats, m, r = error_stats(outs, ideal)
            entry["stats"] = {**stats, "seed0": seed0}
            keys = {n: f"{case['id']}/{n}" for n in ("err_mean", "err_rms", "output_trial0")}
            arrays[keys["err_mean"]], arrays[keys["err_rms"]] = m, r
            arrays[keys["output_trial0"]] = outs[0].astype(np.int32)
            entry["npz"] = keys
        print(f"{case['id']:48s} {time.perf_counter() - t0:6.1f} s", flush=True)
        entries.append(entry)
    return entries


# ---- bugs and timing ------------------------------------------------------------------------
def stuck_counts(pq: Any) -> dict[str, Any]:
    """Realised stuck-at fractions of NeuroSim's ``stuck_at_fault_sample`` on a 256x129 cell
    matrix (the 256x128 layer plus its dummy column), 8 cells per weight."""
    out = {}
    ones = torch.full((256, 129), 255, dtype=torch.int32)  # every bit set
    zeros = torch.zeros((256, 129), dtype=torch.int32)
    for r0, r1 in ((0.01, 0.0), (0.05, 0.0), (0.0, 0.01), (0.01, 0.01)):
        torch.manual_seed(SEED)
        layer = ns.integer_layer(
            pq, "linear", torch.full((128, 256), 127), ns.cim_args(rate_stuck_0=r0, rate_stuck_1=r1)
        )
        cells = ones.numel() * 8
        lost = int(8 * ones.numel() - _popcount(layer.stuck_at_fault_sample(ones.clone())))
        gained = int(_popcount(layer.stuck_at_fault_sample(zeros.clone())))
        out[f"rate_stuck_0={r0},rate_stuck_1={r1}"] = {
            "cells": cells,
            "configured_stuck_0": r0,
            "configured_stuck_1": r1,
            "realised_stuck_0": lost / cells,
            "realised_stuck_1": gained / cells,
        }
    return out


def _popcount(x: torch.Tensor) -> int:
    return int(sum(((x >> b) & 1).sum() for b in range(8)))


def timing(pq: Any, layers: dict[str, Any], quick: bool) -> dict[str, Any]:
    """Seconds per forward call of NeuroSim's CIMLinear on the 256x128 layer (one thread)."""
    spec = layers["linear256x128_relu"]
    out: dict[str, Any] = {
        "layer": "linear256x128_relu",
        "batch": int(spec["x"].shape[0]),
        "torch_threads": torch.get_num_threads(),
        "cases": {},
    }
    timed: dict[str, dict[str, Any]] = {
        "adc5": {"adc_precision": 5},
        "adc5_read_noise0.1": {"adc_precision": 5, "read_noise": 0.1},
    }
    for name, s in timed.items():
        layer = ns.integer_layer(pq, "linear", spec["w"], ns.cim_args(**s))
        x = spec["x"].to(torch.float32)
        times = []
        with torch.no_grad():
            layer(x)
            for _ in range(3 if quick else 10):
                t0 = time.perf_counter()
                layer(x)
                times.append(time.perf_counter() - t0)
        out["cases"][name] = {
            "neurosim": s,
            "seconds_per_call_median": float(np.median(times)),
            "seconds_per_call_min": float(min(times)),
            "calls": len(times),
        }
    return out


# ---- digits MLP and CNN through NeuroSim's own flow ------------------------------------------
DIGITS_ADC = (3, 4, 5, 6, 7, 8)
DIGITS_NOISE = (0.0, 0.05, 0.1, 0.2)


def default_models(out: Path, retrain: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train (or load from ``out``) the default sweep's digits MLP and CNN with cimsweep's own
    steps and the default config's values and seeds; returns {model: (values, state)} and the
    split arrays."""
    import yaml  # type: ignore[import-untyped]

    raw = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    sweep = cfg.load(raw)
    scratch = ns.SCRATCH / "digits"
    scratch.mkdir(parents=True, exist_ok=True)
    split = scratch / "split.npz"
    steps.prepare_data(str(split), sweep.stage_values("data", {"dataset": "digits"}))
    arrays = steps.load_split(str(split))
    models = {}
    for name in ("mlp", "cnn"):
        values = sweep.stage_values("train", {"dataset": "digits", "model": name})
        pt = out / f"digits_{name}.pt"
        if retrain or not pt.is_file():
            out.mkdir(parents=True, exist_ok=True)
            steps.train(str(split), str(pt), str(scratch / f"{name}_metrics.json"), values)
        models[name] = (values, torch.load(pt, map_location="cpu", weights_only=True))
    return models, arrays


def _accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 400) -> float:
    """Percent correct, batches of ``batch`` (NeuroSim's default inference batch size)."""
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += int((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum())
    return 100.0 * correct / len(x)


def _chips(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, seeds: list[int]):
    """Accuracy (%) per chip: one seeded evaluation of the test set per seed."""
    accs = []
    for s in seeds:
        torch.manual_seed(s)
        accs.append(_accuracy(model, x, y))
    return accs


def _summary(accs: list[float]) -> dict[str, Any]:
    return {
        "accuracy_mean": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        "accuracy_chips": accs,
    }


def truncation(model: torch.nn.Module, x: torch.Tensor) -> dict[str, Any]:
    """Fraction of integer codes CIMLinear/CIMConv2d truncate (float->int32) to one below the
    rounded code, per analog layer, on ``x`` (NeuroSim's quantizers, its scales)."""
    out: dict[str, Any] = {}
    hooks = []

    def hook(name: str):
        def f(mod: Any, inp: tuple[torch.Tensor, ...]) -> None:
            q = mod._input_quantizer(inp[0])
            iq = mod.input_quantizer
            q = q * ((2.0 ** (iq.num_bits - 1 + int(iq.unsigned)) - 1.0) / iq.amax)
            wq = mod.weight_quantizer
            w = mod._weight_quantizer(mod.weight)
            w = w * ((2.0 ** (wq.num_bits - 1 + int(wq.unsigned)) - 1.0) / wq.amax)
            for kind, v in (("input", q), ("weight", w)):
                trunc, rnd = v.to(torch.int32), v.round().to(torch.int32)
                nz = rnd != 0
                out.setdefault(name, {})[kind] = {
                    "codes": int(v.numel()),
                    "frac_lose_one_lsb": float((trunc != rnd).double().mean()),
                    "frac_lose_one_lsb_nonzero": float((trunc != rnd)[nz].double().mean()),
                    "max_abs_diff": int((trunc - rnd).abs().max()),
                }

        return f

    for name, m in model.named_modules():
        if hasattr(m, "weight_quantizer") and not m.input_quantizer._disabled:
            hooks.append(m.register_forward_pre_hook(hook(name)))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return out


def digits_reference(pq: Any, out: Path, quick: bool, retrain: bool) -> tuple[dict, dict]:
    """Accuracy of NeuroSim's flow on the default digits models over ADC bits x read noise."""
    from cimsweep.data import split_info
    from cimsweep.nn.models import build_model

    models, arrays = default_models(out, retrain)
    info = split_info(arrays)
    assert info is not None, "split file without num_classes"
    x_tr = torch.as_tensor(arrays["x_train"], dtype=torch.float32)
    x_te = torch.as_tensor(arrays["x_test"], dtype=torch.float32)
    y_te = torch.as_tensor(arrays["y_test"], dtype=torch.int64)
    perm = torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(SEED))
    x_calib = x_tr[perm[:384]]
    chips = 2 if quick else 5
    doc: dict[str, Any] = {
        "test_samples": len(x_te),
        "calib_samples": 384,
        "calib_order_seed": SEED,
        "eval_batch": 400,
        "chips": chips,
        "models": {},
    }
    trunc = {}
    for name, (values, state) in models.items():

        def build(name: str = name) -> torch.nn.Module:
            return build_model(name, info.in_shape, info.num_classes)

        plain = build()
        plain.load_state_dict(state)
        plain.eval()
        entry: dict[str, Any] = {
            "state_dict": f"digits_{name}.pt",
            "float_accuracy": _accuracy(plain, x_te, y_te),
            "train_values": steps._jsonable(values),
            "points": [],
        }
        for adc in DIGITS_ADC:
            for rn in DIGITS_NOISE:
                settings = {"adc_precision": adc, "read_noise": rn}
                model = ns.neurosim_flow(pq, build, state, ns.cim_args(**settings), x_calib)
                if adc == 8 and rn == 0.0:
                    trunc[name] = truncation(model, x_te)
                seeds = [SEED + c for c in range(1 if rn == 0 else chips)]
                accs = _chips(model, x_te, y_te, seeds)
                with ns.rounded_codes(pq):
                    rounded = _chips(model, x_te, y_te, seeds)
                neurosim = {n: vars(ns.cim_args(**settings))[n] for n in ns.NEUROSIM_DEFAULTS}
                entry["points"].append(
                    {
                        "neurosim": neurosim,
                        "cimsweep": cimsweep_names(neurosim)[0],
                        **_summary(accs),
                        "seeds": seeds,
                        "truncation_fixed": _summary(rounded),
                    }
                )
                print(
                    f"digits {name} adc {adc} rn {rn}: {np.mean(accs):.2f} % "
                    f"(rounded {np.mean(rounded):.2f} %)",
                    flush=True,
                )
        doc["models"][name] = entry
    return doc, trunc


# ---- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurosim", required=True, type=Path, help="NeuroSim V1.5 checkout")
    ap.add_argument("--out", type=Path, default=Path("tests/data"))
    ap.add_argument("--quick", action="store_true", help="few trials and chips (trying out)")
    ap.add_argument("--retrain", action="store_true", help="retrain the digits models")
    ap.add_argument("--skip-digits", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    pq = ns.load_backbone(args.neurosim)
    layers = make_layers()
    arrays: dict[str, np.ndarray] = {}
    layer_entries = {}
    for name, spec in layers.items():
        keys = {n: f"{name}/{n}" for n in ("input", "weight", "ideal")}
        arrays[keys["input"]] = spec["x"].numpy().astype(np.int32)
        arrays[keys["weight"]] = spec["w"].numpy().astype(np.int32)
        arrays[keys["ideal"]] = spec["ideal"].numpy()
        entry = {
            "type": spec["type"],
            "input_shape": list(spec["x"].shape),
            "weight_shape": list(spec["w"].shape),
            "output_shape": list(spec["ideal"].shape),
            "npz": keys,
        }
        if spec["type"] == "conv":
            entry.update(stride=spec["stride"], padding=spec["padding"])
        layer_entries[name] = entry
    doc: dict[str, Any] = {
        "format_version": 1,
        "generator": "benchmarks/neurosim_reference.py",
        "generator_version": GENERATOR_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "quick": bool(args.quick),
        "neurosim": {**NEUROSIM, "cpu_patches": [p.why for p in ns.CPU_PATCHES]},
        "arrays": NPZ_NAME,
        "seed": SEED,
        "layers": layer_entries,
    }
    doc["cases"] = run_cases(pq, layers, args.quick, arrays)
    doc["bugs"] = {"stuck_at_counts": stuck_counts(pq)}
    doc["timing"] = timing(pq, layers, args.quick)
    if not args.skip_digits:
        digits, trunc = digits_reference(pq, args.out, args.quick, args.retrain)
        doc["digits"] = digits
        doc["bugs"]["truncation"] = trunc
    args.out.mkdir(parents=True, exist_ok=True)

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]

    write_with(args.out / NPZ_NAME, save)
    write_json(args.out / JSON_NAME, doc)
    print(f"wrote {args.out / JSON_NAME} ({len(doc['cases'])} cases)")


if __name__ == "__main__":
    main()

"""Run a built NeuroSim ``main`` on a network's traces and return the result dictionary."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cimsweep.layout import digital_names
from cimsweep.ppa.neurosim.build import build, neurosim_version, source_dir
from cimsweep.ppa.neurosim.parse import parse_report
from cimsweep.ppa.neurosim.traces import (
    NetLayer,
    trace_stats,
    write_input_file,
    write_network_csv,
    write_weight_file,
)
from cimsweep.ppa.neurosim.v15 import write_layer_files

log = logging.getLogger(__name__)

ENERGY_CONVENTION = (
    "energy_J, dynamic_energy_J, leakage_energy_J and energy_breakdown_J are NeuroSim's printed "
    "(pre-layout) values, without its 1.22 post-layout factor; tops_per_w is NeuroSim's printed "
    "TOPS/W, which includes it (ops / (1.22 x energy)); tops_per_w_prelayout = ops / energy_J"
)


class NeuroSimError(RuntimeError):
    """NeuroSim failed (build, run or report); the message carries NeuroSim's own output."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class LayerTrace:
    """One crossbar layer's NeuroSim inputs: its network-CSV line, its ``rows x C_out`` weight
    matrix on NeuroSim's grid and its ``rows x vectors`` input codes."""

    name: str
    net: NetLayer
    weights: np.ndarray
    inputs: np.ndarray


def run_neurosim(
    binary: Path,
    traces: Sequence[LayerTrace],
    hw: Mapping[str, Any],
    workdir: Path,
    version: str = "1.4",
) -> str:
    """Write the network CSV and the trace files of NeuroSim ``version`` into ``workdir`` (V1.4:
    :mod:`.traces`, CSV of bits; V1.5: :mod:`.v15`, one integer per entry), run ``binary``
    there and return its stdout. Both versions take the same command line. Raises
    :class:`NeuroSimError` with NeuroSim's last output when it fails."""
    wp, ip = int(hw["weight_precision"]), int(hw["input_precision"])
    rows = int(hw["sub_array"][0])
    parallel = int(hw["parallel_read"]) or rows
    write_network_csv(workdir / "NetWork.csv", [t.net for t in traces])
    args = [str(binary), "NetWork.csv", str(wp), str(ip), str(rows), str(min(parallel, rows))]
    for i, t in enumerate(traces):
        if version == "1.5":
            write_layer_files(
                workdir / f"weight{i}.csv", workdir / f"input{i}.csv", t.weights, t.inputs, wp
            )
        else:
            write_weight_file(workdir / f"weight{i}.csv", t.weights)
            write_input_file(workdir / f"input{i}.csv", t.inputs, ip)
        args += [f"weight{i}.csv", f"input{i}.csv"]
    proc = subprocess.run(args, cwd=workdir, capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    errors = [line for line in out.splitlines() if "ERROR" in line or "Error" in line]
    if proc.returncode != 0 or errors:
        msg = "; ".join(errors or out.strip().splitlines()[-1:] or ["no output"])
        raise NeuroSimError(f"NeuroSim main exited {proc.returncode}: {msg[:1500]}", out)
    return proc.stdout


class NeuroSimBackend:
    """A :class:`cimsweep.ppa.PPABackend` that builds and runs the user's NeuroSim."""

    name = "neurosim"

    def __init__(self, neurosim_dir: str | os.PathLike[str], traces: Sequence[LayerTrace]):
        self.neurosim_dir = str(neurosim_dir)
        self.traces = list(traces)
        self.stdout = ""

    def estimate(
        self, layers: Sequence[Any], hw: Mapping[str, Any], tech: Mapping[str, Any]
    ) -> dict:
        """Result dictionary of NeuroSim's run (the analytical schema; see
        :data:`ENERGY_CONVENTION`). ``tech`` is not used: NeuroSim has its own tables."""
        from cimsweep.ppa.estimate import normalize_hw

        hw = normalize_hw(hw)
        src = source_dir(self.neurosim_dir)
        version = neurosim_version(src)
        geo = {str(g["name"] if isinstance(g, Mapping) else g.name): g for g in layers}
        digital = digital_names([t.name for t in self.traces], hw["digital_layers"])
        traces = [t for t in self.traces if t.name not in digital]
        if not traces:
            raise ValueError(f"digital_layers = {hw['digital_layers']!r} leaves no layer")
        binary = build(self.neurosim_dir, hw)
        with tempfile.TemporaryDirectory(prefix="cimsweep-neurosim-") as tmp:
            try:
                self.stdout = run_neurosim(binary, traces, hw, Path(tmp), version)
            except NeuroSimError as exc:
                self.stdout = exc.output
                raise
        parsed = parse_report(self.stdout)
        if len(parsed["layers"]) != len(traces):
            raise NeuroSimError(
                f"NeuroSim reported {len(parsed['layers'])} layers for {len(traces)} traced"
            )
        layer_results = []
        ops = 0
        for t, r in zip(traces, parsed["layers"], strict=True):
            g = geo.get(t.name)
            view: dict[str, Any] = (
                dict(g) if isinstance(g, Mapping) else (g.to_dict() if g is not None else {})
            )
            rows, cols = t.weights.shape
            vec = int(view.get("vectors") or t.inputs.shape[1])
            ops += 2 * rows * cols * vec
            stats = trace_stats(t.inputs, int(hw["input_precision"]))
            layer_results.append(
                {
                    "name": t.name,
                    "kind": str(view.get("kind", "")),
                    "rows": rows,
                    "cols": cols,
                    "vectors": vec,
                    "macs": rows * cols * vec,
                    "ops": 2 * rows * cols * vec,
                    "trace": stats,
                    **{k: v for k, v in r.items() if k != "index"},
                }
            )
        total = dict(parsed["total"])
        total["ops"] = ops
        total["macs"] = ops // 2
        total["tops_per_w_prelayout"] = ops / total["energy_J"] / 1e12
        total["tops_per_mm2"] = total["tops"] / total["area_mm2"]
        total["fps"] = 1.0 / total["latency_s"]
        total["digital_layers"] = [t.name for t in self.traces if t.name in digital]
        return {
            "backend": self.name,
            "neurosim": {"dir": str(src), "version": version, "binary": str(binary)},
            "energy_convention": ENERGY_CONVENTION,
            "hw": {k: (list(x) if isinstance(x, tuple) else x) for k, x in hw.items()},
            "total": total,
            "layers": layer_results,
        }

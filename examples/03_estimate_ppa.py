"""Energy, latency and area of one inference of a CNN, at two subarray sizes.

Pure PPA, no training: the crossbar geometry of each layer comes from tracing the model once,
the technology from ``config/tech/22nm.yaml``. Run: ``python examples/03_estimate_ppa.py``.
"""

from __future__ import annotations

from pathlib import Path

from cimsweep.nn.geometry import layer_geometry
from cimsweep.nn.models import build_model
from cimsweep.ppa import estimate, load_tech
from cimsweep.workflow.stages import PpaValues

TECH = Path(__file__).resolve().parents[1] / "config" / "tech" / "22nm.yaml"


def main() -> dict[int, dict[str, float]]:
    """Total energy (J), latency (s) and area (mm²) per subarray size (rows = cols)."""
    model = build_model("cnn", (1, 8, 8), 10)
    layers = layer_geometry(model, (1, 8, 8))
    tech = load_tech(TECH)
    out = {}
    for size in (64, 128):
        hw = PpaValues(model="cnn", sub_array=(size, size), tech_node=22)
        total = estimate(layers, hw.as_dict(), tech)["total"]
        out[size] = {k: total[k] for k in ("energy_J", "latency_s", "area_mm2")}
        print(
            f"{size}x{size}: {total['energy_J']:.3e} J, {total['latency_s']:.3e} s, "
            f"{total['area_mm2']:.4f} mm2"
        )
    return out


if __name__ == "__main__":
    main()

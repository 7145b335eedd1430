"""Figure 6: per-layer ADC clipping rate and output SNR of one grid point."""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from cimsweep.plots.style import (
    OKABE_ITO,
    figsize,
    styled,
)


@styled
def layer_diagnostics(
    layers: Mapping[str, Mapping[str, float]], *, title: str | None = None
) -> Figure:
    """Per-layer ADC clip rate (%) and output SNR (dB) of one grid point, in layer order.

    ``layers``: ``{layer_name: {"adc_clip_rate": fraction, "snr_db": dB}}``; a null (``None``)
    or non-finite value (a lossless layer has no finite SNR) is drawn as "n/a".
    """
    if not layers:
        raise ValueError("layer_diagnostics: no data to draw (empty layer dict)")
    for name, d in layers.items():
        missing = {"adc_clip_rate", "snr_db"} - set(d)
        if missing:
            raise ValueError(f"layer_diagnostics: layer {name!r} lacks {sorted(missing)}")
    names = list(layers)
    clip = np.array([_number(layers[n]["adc_clip_rate"]) for n in names]) * 100
    snr = np.array([_number(layers[n]["snr_db"]) for n in names])
    fig, (ax_c, ax_s) = plt.subplots(1, 2, figsize=figsize(2.4))
    pos = np.arange(len(names))
    for ax, vals, color, label, fmt in (
        (ax_c, clip, OKABE_ITO["vermillion"], "ADC clip rate (%)", "{:.2g}"),
        (ax_s, snr, OKABE_ITO["blue"], "Output SNR (dB)", "{:.1f}"),
    ):
        shown = np.where(np.isfinite(vals), vals, 0.0)
        ax.bar(pos, shown, color=color, width=0.65, gid="bar")
        for p, v, s in zip(pos, vals, shown, strict=True):
            text = fmt.format(v) if np.isfinite(v) else "n/a"
            ax.annotate(
                text,
                (p, s),
                xytext=(0, 2 if s >= 0 else -2),
                textcoords="offset points",
                ha="center",
                va="bottom" if s >= 0 else "top",
                fontsize=6,
            )
        ax.set_xticks(
            pos,
            names,
            rotation=30 if len(names) > 4 else 0,
            ha="right" if len(names) > 4 else "center",
        )
        ax.set_ylabel(label)
        ax.set_xlabel("Layer")
        ax.grid(axis="x", visible=False)
        lo, hi = min(0.0, float(np.min(shown))), max(0.0, float(np.max(shown)))
        span = hi - lo if hi > lo else 1.0
        ax.set_ylim(lo - (0.12 * span if lo < 0 else 0), hi + 0.15 * span)
    ax_c.set_title("ADC clipping", loc="left")
    ax_s.set_title("Output signal-to-noise ratio", loc="left")
    if title:
        fig.suptitle(title)
    return fig


def _number(value: float | None) -> float:
    """A diagnostic value as a float; NaN for null (JSON has no NaN or infinity)."""
    return math.nan if value is None else float(value)

"""Figure 5: energy and area breakdown of chosen configurations, and TOPS/W vs accuracy."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cimsweep.plots.labels import place_labels
from cimsweep.plots.select import failed_text, footnote, select
from cimsweep.plots.style import (
    COMPONENT_COLORS,
    COMPONENT_LABELS,
    HIGHLIGHT,
    NEUTRAL,
    config_text,
    figsize,
    model_marker,
    percent,
    plain_log_axis,
    si_scale,
    sort_values,
    spans_decades,
    styled,
    value_text,
)
from cimsweep.results import COMPONENTS, pareto_front, swept_axes


def _stacked(
    ax: Axes, chosen: pd.DataFrame, prefix: str, suffix: str, total: str, unit: str, si: bool
) -> None:
    cols = [f"{prefix}_{c}_{suffix}" for c in COMPONENTS]
    parts = chosen[cols].fillna(0.0).to_numpy(float)
    totals = chosen[total].to_numpy(float)
    totals = np.where(np.isfinite(totals), totals, parts.sum(axis=1))
    normalise = spans_decades(totals)
    if normalise:
        scale = 100.0 / np.where(totals > 0, totals, 1.0)[:, None]
        label = f"Share of total {'energy' if prefix == 'energy' else 'area'} (%)"
    else:
        factor, unit_text = si_scale(totals, unit) if si else (1.0, unit)
        scale = np.full((len(totals), 1), factor)
        label = f"{'Energy per inference' if prefix == 'energy' else 'Area'} ({unit_text})"
    values = parts * scale
    ypos = np.arange(len(chosen))[::-1]
    left = np.zeros(len(chosen))
    for k, comp in enumerate(COMPONENTS):
        ax.barh(
            ypos,
            values[:, k],
            left=left,
            height=0.65,
            color=COMPONENT_COLORS[comp],
            ec="white",
            lw=0.3,
            label=COMPONENT_LABELS[comp],
            gid="bar",
        )
        left += values[:, k]
    tf, tu = si_scale(totals, unit) if si else (1.0, unit)
    for yp, end, tot in zip(ypos, left, totals, strict=True):
        ax.annotate(
            f"{tot * tf:.3g} {tu}",
            (end, yp),
            xytext=(2, 0),
            textcoords="offset points",
            va="center",
            fontsize=6,
        )
    ax.set_xlim(0, left.max() * 1.3 if left.max() > 0 else 1)
    if normalise:
        ax.set_xticks(np.arange(0, 101, 25))
    ax.set_xlabel(label)
    ax.grid(axis="y", visible=False)


@styled
def breakdown(
    df: pd.DataFrame,
    rows: Sequence[Hashable] | pd.Series | None = None,
    *,
    max_rows: int = 8,
) -> Figure:
    """Energy and area breakdown (stacked bars) of chosen configurations, plus TOPS/W vs
    accuracy of every successful grid point with the chosen ones marked A, B, ...

    ``rows``: index labels of ``df`` or a boolean mask; default: the Pareto front per model
    (at most ``max_rows``). Bars show absolute values, or shares of the total (%) when the
    totals span a decade or more; the total is printed at the end of each bar.
    """
    fig_name = "breakdown"
    sel = select(df, fig_name, None, ["model", "status", "energy_J", "area_mm2"])
    if rows is None:
        mask = pareto_front(sel, by="model")
        chosen = sel[mask].sort_values(["model", "energy_J"]).head(max_rows)
    elif isinstance(rows, pd.Series) and rows.dtype == bool:
        chosen = sel[rows.reindex(sel.index, fill_value=False)]
    else:
        missing = [r for r in rows if r not in sel.index]
        if missing:
            raise ValueError(f"breakdown: rows {missing} not in the table index")
        chosen = sel.loc[list(rows)]
    n_chosen = len(chosen)
    ok_mask = (chosen["status"] == "ok") & chosen["energy_J"].notna()
    chosen = chosen[ok_mask]
    if chosen.empty:
        raise ValueError(
            f"breakdown: no data to draw (rows={'Pareto front' if rows is None else 'given'}: "
            f"{n_chosen} chosen, none successful)"
        )
    letters = [chr(ord("A") + i) for i in range(len(chosen))]
    differ = [a for a in swept_axes(chosen)] or [a for a in swept_axes(sel)]
    names = [
        f"{k}  {config_text(r, differ, per_line=3)}"
        for k, (_, r) in zip(letters, chosen.iterrows(), strict=True)
    ]
    fig = plt.figure(figsize=figsize(1.6 + 0.32 * len(chosen) + 2.3))
    subfigs = fig.subfigures(2, 1, height_ratios=[0.6 + 0.32 * len(chosen), 2.3])
    top, bottom = subfigs  # type: ignore[misc]  # an array of two subfigures
    ax_e, ax_a = top.subplots(1, 2, sharey=True)
    _stacked(ax_e, chosen, "energy", "J", "energy_J", "J", si=True)
    _stacked(ax_a, chosen, "area", "mm2", "area_mm2", "mm²", si=False)
    ax_e.set_yticks(np.arange(len(chosen))[::-1], names, fontsize=6)
    ax_e.set_title("Energy breakdown", loc="left")
    ax_a.set_title("Area breakdown", loc="left")
    handles, labels = ax_e.get_legend_handles_labels()
    top.legend(handles, labels, loc="outside upper center", ncols=6)
    ax = bottom.subplots()
    everything = sel[(sel["status"] == "ok")]
    pts = everything.dropna(subset=["accuracy_mean", "tops_per_w"])
    for model in sort_values("model", pts["model"]):
        m = pts[pts["model"] == model]
        ax.plot(
            percent(m["accuracy_mean"]),
            m["tops_per_w"],
            ls="none",
            ms=3,
            marker=model_marker(model),
            mfc="none",
            mec=NEUTRAL,
            mew=0.6,
            label=f"{value_text('model', model)} grid points",
            gid="grid",
        )
    cx, cy = percent(chosen["accuracy_mean"]), chosen["tops_per_w"].to_numpy(float)
    ax.plot(
        cx,
        cy,
        ls="none",
        marker="o",
        ms=4.5,
        mfc=HIGHLIGHT,
        mec="black",
        mew=0.5,
        label="Selected (A, B, …)",
        gid="selected",
    )
    if spans_decades(pts["tops_per_w"]):
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
    ax.set_xlabel("Accuracy (%)")
    ax.set_ylabel("Energy efficiency (TOPS/W)")
    ax.set_title("Efficiency vs accuracy", loc="left")
    footnote(
        fig,
        [
            failed_text({"": n_chosen - len(chosen)}, "selected configuration"),
            failed_text({"": int((sel["status"] != "ok").sum())}, "grid point"),
        ],
    )
    ax.legend(loc="best", fontsize=6)
    fig.canvas.draw()
    ok_xy = [(a, b) for a, b in zip(cx, cy, strict=True) if np.isfinite(a) and np.isfinite(b)]
    ok_txt = [
        k for k, a, b in zip(letters, cx, cy, strict=True) if np.isfinite(a) and np.isfinite(b)
    ]
    obstacles = list(zip(percent(pts["accuracy_mean"]), pts["tops_per_w"], strict=True))
    for ann in place_labels(ax, ok_xy, ok_txt, obstacles, fontsize=7):
        ann.set_fontweight("bold")
    return fig

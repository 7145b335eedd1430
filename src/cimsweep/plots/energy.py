"""Figure 1: accuracy vs energy per inference, one panel per model, Pareto front labelled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cimsweep.plots.labels import place_labels
from cimsweep.plots.select import (
    Where,
    energy_axis,
    energy_scale,
    failed_text,
    float_reference,
    footnote,
    model_panel_grid,
    model_panels,
    select,
    split_ok,
)
from cimsweep.plots.style import (
    HIGHLIGHT,
    OKABE_ITO,
    config_text,
    model_marker,
    percent,
    plain_log_axis,
    styled,
    value_text,
)
from cimsweep.results import pareto_front, swept_axes


@styled
def accuracy_vs_energy(
    df: pd.DataFrame,
    *,
    x: str = "energy_J",
    y: str = "accuracy_mean",
    where: Where = None,
    label_params: Sequence[str] | None = None,
    max_labels: int = 10,
) -> Figure:
    """Accuracy vs energy per inference, one panel per model, with the Pareto front labelled.

    Every grid point is a marker with a +-1 s.d. Monte-Carlo error bar; the Pareto front
    (minimum energy, maximum accuracy) is a staircase with highlighted markers labelled by the
    swept parameters (``label_params``; default: every swept axis except ``model``), at most
    ``max_labels`` per panel. The float-model accuracy is a dotted reference line. The energy
    axis is logarithmic in panels whose energies span a decade or more.
    """
    fig_name = "accuracy_vs_energy"
    sel = select(df, fig_name, where, ["model", x, y, "status"])
    good, _ = split_ok(sel, fig_name, where, [x, y])
    if label_params is None:
        label_params = [a for a in swept_axes(good) if a != "model"]
    fig, axes, models = model_panel_grid(sel, 2.9)
    failed: dict[str, int] = {}
    notes: list[str] = []
    pending: list[tuple[Axes, list[tuple[float, float]], list[str], Any]] = []
    for ax, model, rows, ok in model_panels(axes, models, sel, good, failed):
        factor, unit, log_x = energy_scale(ok[x])
        xs = ok[x].to_numpy(float) * factor
        ys = percent(ok[y])
        err = percent(ok["accuracy_std"]) if "accuracy_std" in ok else None
        bars = ax.errorbar(
            xs,
            ys,
            yerr=err,
            fmt=model_marker(model),
            ms=3,
            mfc="none",
            mec=OKABE_ITO["blue"],
            mew=0.7,
            ecolor=OKABE_ITO["sky_blue"],
            elinewidth=0.6,
            zorder=2,
            label="Grid point (mean ± 1 s.d. over MC runs)",
        )
        bars.lines[0].set_gid("grid")
        front = ok[pareto_front(ok, x, y)].sort_values([x, y], ascending=[True, False])
        fx, fy = front[x].to_numpy(float) * factor, percent(front[y])
        ax.step(
            fx,
            fy,
            where="post",
            color=HIGHLIGHT,
            lw=1.0,
            zorder=3,
            label="Pareto front",
            gid="pareto-front",
        )
        ax.plot(
            fx,
            fy,
            ls="none",
            marker=model_marker(model),
            ms=4.5,
            mfc=HIGHLIGHT,
            mec="black",
            mew=0.5,
            zorder=4,
            label="Pareto-optimal point",
            gid="pareto-points",
        )
        float_reference(ax, rows)
        energy_axis(ax, unit, log_x)
        if label_params:
            idx = np.arange(len(front))
            if len(front) > max_labels:
                idx = np.unique(np.linspace(0, len(front) - 1, max_labels).round().astype(int))
                notes.append(
                    f"{value_text('model', model)}: {len(idx)} of {len(front)} "
                    "Pareto points labelled"
                )
            pts = [(fx[i], fy[i]) for i in idx]
            varying = [p for p in label_params if front[p].nunique() > 1]
            common = [p for p in label_params if p not in varying]
            texts = [config_text(front.iloc[i], varying) for i in idx] if varying else []
            if common:  # values shared by the whole front are stated once, not per label
                ax.set_title(
                    "Pareto front: " + config_text(front.iloc[0], common, per_line=9),
                    loc="right",
                    fontsize=6,
                    color="#444444",
                )
            sx, sy = np.repeat(fx, 2)[1:], np.repeat(fy, 2)[:-1]  # the staircase corners
            if texts:
                obstacles = list(zip(xs, ys, strict=True))
                pending.append((ax, pts, texts, (obstacles, [(sx, sy)], rows)))
    axes[0].set_ylabel("Accuracy (%)")
    for ax in axes:
        if ax.get_xscale() == "log":
            plain_log_axis(ax.xaxis)
    handles, labels = _dedup_legend(axes)
    fig.legend(handles, labels, loc="outside upper center", ncols=min(4, len(handles)))
    footnote(fig, [failed_text(failed)], notes)
    fig.canvas.draw()  # final layout before pixel-based label placement
    for ax, pts, texts, (obstacles, lines, rows) in pending:
        ref = rows["float_accuracy"].dropna()
        if len(ref):
            lo, hi = ax.get_xlim()
            lines = lines + [([lo, hi], [ref.iloc[0] * 100] * 2)]
        place_labels(ax, pts, texts, obstacles, lines)
    return fig


def _dedup_legend(axes: Sequence[Axes]) -> tuple[list[Any], list[str]]:
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen.keys())

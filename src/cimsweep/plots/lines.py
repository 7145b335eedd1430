"""Figures 2 and 4: accuracy as lines over one axis (ADC precision, retention time, read
noise) and Pareto fronts per training mode."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cimsweep.plots.select import (
    Where,
    energy_axis,
    energy_scale,
    failed_text,
    float_reference,
    footnote,
    model_panel_grid,
    model_panels,
    panel_grid,
    panel_rows,
    panel_selection,
    panel_title,
    select,
    split_ok,
)
from cimsweep.plots.style import (
    NEUTRAL,
    TIME_UNITS,
    human_time,
    model_linestyle,
    model_marker,
    param_label,
    percent,
    plain_log_axis,
    sort_values,
    styled,
    value_colors,
    value_text,
)
from cimsweep.results import pareto_front


def _line_figure(
    df: pd.DataFrame,
    fig_name: str,
    *,
    x: str,
    hue: str,
    panel: str | None,
    y: str,
    where: Where,
    height: float,
) -> tuple[Figure, list[Axes], pd.DataFrame]:
    """Panels by ``panel``; within each, one line (+-1 s.d. band) per (model, ``hue``)."""
    sel, good, panels = panel_selection(
        df, fig_name, where, [x, hue, "model", "status"], y, panel, [x, y], ["model", hue, x]
    )
    if "accuracy_std" not in sel.columns:
        sel, good = sel.assign(accuracy_std=np.nan), good.assign(accuracy_std=np.nan)
    models = sort_values("model", good["model"])
    colors = value_colors(hue, sel[hue])
    fig, axes = panel_grid(len(panels), height, max_cols=3, sharey=True, sharex=True)
    failed: dict[str, int] = {}
    for ax, pv in zip(axes, panels, strict=True):
        rows = panel_rows(sel, panel, pv)
        ok = good.loc[good.index.intersection(rows.index)]
        if pv is not None and panel is not None:
            ax.set_title(panel_title(panel, pv), loc="left")
        for model, hv in itertools.product(models, sort_values(hue, ok[hue])):
            line = ok[(ok["model"] == model) & (ok[hue] == hv)].sort_values(x)
            if line.empty:
                continue
            # break the line where a point failed rather than interpolate across it
            lost = rows[(rows["model"] == model) & (rows[hue] == hv) & ~rows.index.isin(ok.index)]
            lost = lost[~lost[x].isin(line[x])]
            gap = pd.DataFrame({x: lost[x].unique(), y: np.nan, "accuracy_std": np.nan})
            if len(gap):
                line = pd.concat([line[[x, y, "accuracy_std"]], gap]).sort_values(x)
            xs, ys = line[x].to_numpy(float), percent(line[y])
            ax.plot(
                xs,
                ys,
                color=colors[hv],
                marker=model_marker(model),
                ms=3.5,
                ls=model_linestyle(model),
                gid="series",
            )
            if "accuracy_std" in line and line["accuracy_std"].notna().any():
                sd = percent(line["accuracy_std"].fillna(0.0))
                ax.fill_between(
                    xs, ys - sd, ys + sd, color=colors[hv], alpha=0.18, lw=0, gid="band"
                )
        failed[panel_title(panel, pv) if panel else ""] = len(rows) - len(ok)
        ax.set_xlabel(param_label(x))
    for ax in axes[::3]:
        ax.set_ylabel("Accuracy (%)")
    handles: list[Any] = [
        Line2D([], [], color=colors[v], lw=1.5, label=value_text(hue, v))
        for v in sort_values(hue, good[hue])
    ]
    if len(models) > 1:
        handles += [
            Line2D(
                [],
                [],
                color="#333333",
                marker=model_marker(m),
                ms=3.5,
                ls=model_linestyle(m),
                label=value_text("model", m),
            )
            for m in models
        ]
    handles.append(Patch(color=NEUTRAL, alpha=0.3, lw=0, label="± 1 s.d. (MC runs)"))
    text = sum(len(h.get_label()) for h in handles)
    fig.legend(
        handles=handles,
        loc="outside upper center",
        ncols=min(len(handles), 6 if text < 70 else 4),
        title=param_label(hue),
    )
    footnote(fig, [failed_text(failed)])
    return fig, axes, good


@styled
def accuracy_vs_adc(
    df: pd.DataFrame,
    *,
    x: str = "adc_precision",
    hue: str = "sub_array",
    panel: str | None = "read_noise",
    y: str = "accuracy_mean",
    where: Where = None,
) -> Figure:
    """Accuracy vs ADC precision: one line per subarray size (marker/dash per model), one panel
    per read-noise level, +-1 s.d. Monte-Carlo bands. Other swept axes must be fixed by
    ``where``."""
    fig, axes, good = _line_figure(
        df, "accuracy_vs_adc", x=x, hue=hue, panel=panel, y=y, where=where, height=2.4
    )
    ticks = sort_values(x, good[x])
    if len(ticks) <= 12:
        for ax in axes:
            ax.set_xticks(ticks)
    return fig


TIME_TICKS: tuple[float, ...] = tuple(s for _, s in TIME_UNITS) + (10 * TIME_UNITS[-1][1],)


def _time_axis(ax: Axes, lo: float, hi: float) -> None:
    """Log time axis with human ticks (1 s, 1 min, 1 h, 1 d, 1 mo, 1 yr, 10 yr)."""
    ax.set_xscale("log")
    ticks = [t for t in TIME_TICKS if lo / 1.01 <= t <= hi * 1.01]
    if len(ticks) >= 2:
        ax.set_xticks(ticks, [human_time(t) for t in ticks])
        ax.set_xticks([], minor=True)
    else:
        plain_log_axis(ax.xaxis)


@styled
def accuracy_vs_retention(
    df: pd.DataFrame,
    *,
    x: str = "t",
    hue: str = "v",
    panel: str | None = None,
    y: str = "accuracy_mean",
    where: Where = None,
) -> Figure:
    """Accuracy vs retention time (log axis, human time ticks), one line per drift coefficient
    (marker/dash per model), +-1 s.d. bands; optional panels by ``panel``."""
    fig, axes, good = _line_figure(
        df, "accuracy_vs_retention", x=x, hue=hue, panel=panel, y=y, where=where, height=2.6
    )
    lo, hi = float(good[x].min()), float(good[x].max())
    for ax in axes:
        _time_axis(ax, lo, hi)
        ax.set_xlabel("Time since programming (log scale; t₀ = 1 s)")
    return fig


@styled
def accuracy_vs_noise(
    df: pd.DataFrame,
    *,
    x: str = "read_noise",
    hue: str = "training",
    panel: str | None = None,
    y: str = "accuracy_mean",
    where: Where = None,
) -> Figure:
    """Accuracy vs read noise, one line per training mode (marker/dash per model), +-1 s.d.
    Monte-Carlo bands; optional panels by ``panel``."""
    fig, axes, good = _line_figure(
        df, "accuracy_vs_noise", x=x, hue=hue, panel=panel, y=y, where=where, height=2.6
    )
    ticks = sort_values(x, good[x])
    if len(ticks) <= 8:
        for ax in axes:
            ax.set_xticks(ticks)
    return fig


@styled
def pareto_by_training(
    df: pd.DataFrame,
    *,
    x: str = "energy_J",
    y: str = "accuracy_mean",
    hue: str = "training",
    where: Where = None,
) -> Figure:
    """Accuracy-vs-energy Pareto fronts, one per training mode (``hue``), one panel per model.

    Every grid point is a faint marker in its mode's colour; each mode's front (minimum energy,
    maximum accuracy over that mode's points) is a staircase with +-1 s.d. error bars, so the
    gain of noise-aware training shows as the vertical gap between fronts at equal energy.
    """
    fig_name = "pareto_by_training"
    sel = select(df, fig_name, where, ["model", x, y, hue, "status"])
    good, _ = split_ok(sel, fig_name, where, [x, y])
    colors = value_colors(hue, sel[hue])
    fig, axes, models = model_panel_grid(sel, 2.9)
    failed: dict[str, int] = {}
    for ax, model, rows, ok in model_panels(axes, models, sel, good, failed):
        factor, unit, log_x = energy_scale(ok[x])
        for hv in sort_values(hue, ok[hue]):
            pts = ok[ok[hue] == hv]
            ax.plot(
                pts[x].to_numpy(float) * factor,
                percent(pts[y]),
                ls="none",
                marker=model_marker(model),
                ms=2.5,
                mfc="none",
                mec=colors[hv],
                mew=0.5,
                alpha=0.45,
                zorder=2,
                gid="grid",
            )
            front = pts[pareto_front(pts, x, y)].sort_values([x, y], ascending=[True, False])
            fx, fy = front[x].to_numpy(float) * factor, percent(front[y])
            ax.step(fx, fy, where="post", color=colors[hv], lw=1.3, zorder=3, gid="series")
            err = percent(front["accuracy_std"]) if "accuracy_std" in front else None
            ax.errorbar(
                fx,
                fy,
                yerr=err,
                fmt=model_marker(model),
                ms=4,
                color=colors[hv],
                mec="black",
                mew=0.4,
                elinewidth=0.7,
                zorder=4,
            )
        float_reference(ax, rows)
        energy_axis(ax, unit, log_x)
        if log_x:
            plain_log_axis(ax.xaxis)
    axes[0].set_ylabel("Accuracy (%)")
    handles: list[Any] = [
        Line2D([], [], color=colors[v], lw=1.3, marker="o", ms=3, label=value_text(hue, v))
        for v in sort_values(hue, good[hue])
    ]
    handles.append(
        Line2D([], [], color=NEUTRAL, lw=0, marker="o", mfc="none", ms=3, label="Grid point")
    )
    fig.legend(
        handles=handles,
        loc="outside upper center",
        ncols=min(len(handles), 4),
        title="Pareto front (mean ± 1 s.d. over MC runs)",
    )
    footnote(fig, [failed_text(failed)])
    return fig

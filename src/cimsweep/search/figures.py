"""Figures of a search: convergence, objectives with the front, parameter importance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cimsweep.plots import style
from cimsweep.workflow.params import PARAMS

FIGURES = ("search_convergence", "search_front", "search_importance")

_METRIC_LABELS = {
    "accuracy_mean": ("Accuracy", "%"),
    "float_accuracy": ("Float accuracy", "%"),
    "energy_J": ("Energy per inference", "J"),
    "latency_s": ("Latency", "s"),
    "area_mm2": ("Area", "mm²"),
    "tops_per_w": ("Efficiency", "TOPS/W"),
}


def _label(column: str) -> tuple[str, str]:
    if column in PARAMS:
        return style.param_label(column), ""
    return _METRIC_LABELS.get(column, (column, ""))


def _axis_values(df: pd.DataFrame, column: str) -> tuple[np.ndarray, str, bool]:
    """Plotted values, axis label and whether the axis is logarithmic."""
    name, unit = _label(column)
    x = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float)
    if unit == "%":
        return style.percent(x), f"{name} (%)", False
    log = style.spans_decades(x)
    if unit in ("J", "s"):
        factor, unit = style.si_scale(x, unit, log=log)
        x = x * factor
    return x, f"{name} ({unit})" if unit else name, log


@style.styled
def convergence(summary: Mapping[str, Any], random_baseline: Sequence[float] = ()) -> Figure:
    """Hypervolume of the evaluated front vs number of evaluations."""
    fig = Figure(figsize=style.figsize(2.6, style.TEXT_WIDTH / 2), layout="constrained")
    ax = fig.subplots()
    hv = np.asarray(summary["hypervolume"], dtype=float)
    n = np.arange(1, len(hv) + 1)
    ax.plot(n, hv, color=style.PALETTE[0], label="search")
    if len(random_baseline):
        ax.plot(
            np.arange(1, len(random_baseline) + 1),
            random_baseline,
            color=style.NEUTRAL,
            linestyle="--",
            label="random sampling",
        )
        ax.legend(loc="lower right")
    ax.set_xlabel("Evaluations")
    ax.set_ylabel("Hypervolume (scaled objectives)")
    ax.set_xlim(0, max(len(hv), 1))
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return fig


@style.styled
def front(table: pd.DataFrame, objectives: Mapping[str, str]) -> Figure:
    """First two objectives of every evaluated point, coloured by round; the front on top."""
    cols = list(objectives)
    x_col, y_col = (cols[1], cols[0]) if len(cols) > 1 else (cols[0], cols[0])
    if "energy_J" in cols and "accuracy_mean" in cols:
        x_col, y_col = "energy_J", "accuracy_mean"
    fig = Figure(figsize=style.figsize(3.2), layout="constrained")
    ax = fig.subplots()
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    x, xlabel, xlog = _axis_values(ok, x_col)
    y, ylabel, ylog = _axis_values(ok, y_col)
    rounds = ok["round"].to_numpy()
    sc = ax.scatter(
        x, y, c=rounds, cmap=style.SEQUENTIAL_CMAP, s=10, alpha=0.8, linewidths=0, zorder=2
    )
    on = ok["pareto"].to_numpy(dtype=bool)
    order = np.argsort(x[on])
    ax.plot(
        x[on][order],
        y[on][order],
        color=style.HIGHLIGHT,
        marker="o",
        markersize=4,
        markerfacecolor="none",
        drawstyle="steps-post" if objectives.get(y_col) == "max" else "default",
        label=f"Pareto front ({int(on.sum())} points)",
        zorder=3,
    )
    fig.colorbar(sc, ax=ax, label="Round")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    ax.set_title(f"{len(ok)} evaluated points", fontsize="medium")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return fig


@style.styled
def importance(summary: Mapping[str, Any]) -> Figure:
    """fANOVA importance of each search axis, one bar group per objective."""
    imp: Mapping[str, Mapping[str, float]] = summary["importance"]
    fig = Figure(figsize=style.figsize(2.8), layout="constrained")
    ax = fig.subplots()
    if not imp:
        ax.text(0.5, 0.5, "too few evaluations for importances", ha="center", va="center")
        ax.set_axis_off()
        return fig
    axes = sorted(
        {a for v in imp.values() for a in v},
        key=lambda a: -max(v.get(a, 0.0) for v in imp.values()),
    )
    width = 0.8 / len(imp)
    pos = np.arange(len(axes))
    for i, (objective, values) in enumerate(imp.items()):
        name, _ = _label(objective)
        ax.barh(
            pos + i * width,
            [values.get(a, 0.0) for a in axes],
            height=width,
            color=style.PALETTE[i % len(style.PALETTE)],
            label=name,
        )
    ax.set_yticks(pos + width * (len(imp) - 1) / 2)
    ax.set_yticklabels([style.param_label(a) for a in axes])
    ax.invert_yaxis()
    ax.set_xlabel("Importance (fANOVA, fraction of variance)")
    ax.set_xlim(0, 1)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return fig


def draw(
    name: str,
    table_parquet: str,
    summary_json: str,
    objectives: Mapping[str, str],
    out_pdf: str,
    out_png: str,
) -> None:
    """Draw one search figure by name; write PDF and PNG."""
    from cimsweep.io import read_json
    from cimsweep.results import read_table

    summary = read_json(summary_json)
    if name == "search_convergence":
        fig = convergence(summary)
    elif name == "search_front":
        fig = front(read_table(table_parquet), objectives)
    elif name == "search_importance":
        fig = importance(summary)
    else:
        raise ValueError(f"unknown search figure {name!r}; expected one of {FIGURES}")
    style.save_figure(fig, out_pdf, out_png)

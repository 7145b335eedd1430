"""Figure 3: accuracy heatmap over two axes, one panel per value of a third."""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cimsweep.plots.select import Where, panel_rows, panel_selection, panel_title
from cimsweep.plots.style import (
    SEQUENTIAL_CMAP,
    figsize,
    fmt_number,
    param_label,
    percent,
    sort_values,
    styled,
    value_text,
)


@styled
def accuracy_heatmap(
    df: pd.DataFrame,
    x: str = "adc_precision",
    y: str = "sub_array",
    *,
    panel: str | None = "read_noise",
    value: str = "accuracy_mean",
    where: Where = None,
) -> Figure:
    """Heatmap of accuracy (%) over ``x`` by ``y``: one panel per ``panel`` value (rows of
    panels per model when several), shared colour scale, every cell annotated. Failed cells
    are hatched and marked "fail"."""
    fig_name = "accuracy_heatmap"
    sel, good, panels = panel_selection(
        df, fig_name, where, [x, y, "model", "status"], value, panel, [value], ["model", x, y]
    )
    models = sort_values("model", sel["model"])
    xv, yv = sort_values(x, sel[x]), sort_values(y, sel[y])
    vmin, vmax = percent(good[value]).min(), percent(good[value]).max()
    if math.isclose(vmin, vmax):
        vmin, vmax = vmin - 1, vmax + 1
    n_rows, n_cols = len(models), len(panels)
    cell_w = (5.6 / n_cols) / len(xv) * 72  # points per cell, roughly
    cell_h = 2.0 / max(len(yv), 1) * 72
    size = float(np.clip(min(cell_w / 3.3, cell_h / 1.6, 7.0), 4.0, 7.0))
    fig, grid = plt.subplots(
        n_rows, n_cols, figsize=figsize(0.4 + 2.1 * n_rows), squeeze=False, sharex=True, sharey=True
    )
    cmap = plt.get_cmap(SEQUENTIAL_CMAP).with_extremes(bad="#EEEEEE")
    image = None
    for (r, model), (c, pv) in itertools.product(enumerate(models), enumerate(panels)):
        ax = grid[r, c]
        ax.grid(False)
        rows = panel_rows(sel[sel["model"] == model], panel, pv)
        mat = np.full((len(yv), len(xv)), np.nan)
        state = np.full(mat.shape, "", dtype=object)
        for _, row in rows.iterrows():
            i, j = yv.index(row[y]), xv.index(row[x])
            if row["status"] == "ok" and pd.notna(row[value]):
                mat[i, j] = row[value] * 100
            else:
                state[i, j] = "fail"
        image = ax.imshow(
            np.ma.masked_invalid(mat),
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            origin="lower",
            aspect="auto",
            interpolation="nearest",
            gid="heatmap",
        )
        norm = image.norm
        for i, j in itertools.product(range(len(yv)), range(len(xv))):
            if np.isfinite(mat[i, j]):
                lum = np.dot(cmap(norm(mat[i, j]))[:3], [0.299, 0.587, 0.114])
                ax.text(
                    j,
                    i,
                    f"{mat[i, j]:.1f}",
                    ha="center",
                    va="center",
                    fontsize=size,
                    color="black" if lum > 0.5 else "white",
                    gid="cell",
                )
            elif state[i, j]:
                ax.add_patch(
                    plt.Rectangle(
                        (j - 0.5, i - 0.5), 1, 1, fill=False, hatch="////", ec="#999999", lw=0
                    )
                )
                ax.text(j, i, "fail", ha="center", va="center", fontsize=size, color="#555555")
        title = [value_text("model", model)]
        if pv is not None and panel is not None:
            title.append(panel_title(panel, pv))
        ax.set_title(" · ".join(title), loc="left")
        ax.set_xticks(range(len(xv)), [fmt_number(v) for v in xv])
        ax.set_yticks(
            range(len(yv)), [value_text(y, v) if y == "sub_array" else fmt_number(v) for v in yv]
        )
        ax.tick_params(length=0)
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        if r == n_rows - 1:
            ax.set_xlabel(param_label(x))
        if c == 0:
            ax.set_ylabel(param_label(y))
    assert image is not None, "a heatmap panel was drawn"
    fig.colorbar(image, ax=grid.ravel().tolist(), label="Accuracy (%)", shrink=0.9, pad=0.02)
    return fig

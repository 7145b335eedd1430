"""Shared figure helpers: row selection by ``where``, failed-row accounting, panel grids and
their set-up (panels by a parameter, one panel per model), the energy axis, footnotes and the
float-model reference line."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cimsweep.plots.style import (
    figsize,
    fmt_number,
    percent,
    si_scale,
    sort_values,
    spans_decades,
    value_text,
)
from cimsweep.results import swept_axes
from cimsweep.workflow.params import PARAMS, canonical, token

Where = Mapping[str, Any] | None


def match(series: pd.Series, name: str, wanted: Any) -> pd.Series:
    values = wanted if isinstance(wanted, (list, set, frozenset)) else [wanted]
    p = PARAMS.get(name)
    mask = pd.Series(False, index=series.index)
    for v in values:
        if p is not None and p.kind == "shape" and not isinstance(v, str):
            v = token(name, canonical(name, v))
        if p is not None and p.kind == "float":
            mask |= np.isclose(series.astype(float), float(v), rtol=1e-9, atol=0.0)
        else:
            mask |= series == v
    return mask


def select(df: pd.DataFrame, fig: str, where: Where, needed: Sequence[str]) -> pd.DataFrame:
    """Apply ``where`` and check columns; raise if no row is left."""
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{fig}: table lacks column(s) {missing}")
    out = df
    for name, wanted in (where or {}).items():
        if name not in out.columns:
            raise ValueError(f"{fig}: where={dict(where or {})} names unknown column {name!r}")
        out = out[match(out[name], name, wanted)]
    if out.empty:
        raise ValueError(f"{fig}: no data to draw (where={dict(where or {})}: 0 rows match)")
    return out


def split_ok(
    df: pd.DataFrame, fig: str, where: Where, needed: Sequence[str]
) -> tuple[pd.DataFrame, int]:
    """Successful rows with finite ``needed`` values, and the number of failed/unusable rows."""
    ok = df["status"] == "ok" if "status" in df.columns else pd.Series(True, index=df.index)
    ok &= df[list(needed)].notna().all(axis=1)
    good = df[ok]
    if good.empty:
        raise ValueError(
            f"{fig}: no data to draw (where={dict(where or {})}: {len(df)} rows, "
            f"{len(df) - len(good)} failed or missing {list(needed)})"
        )
    return good, len(df) - len(good)


def check_unique(good: pd.DataFrame, fig: str, keys: Sequence[str]) -> None:
    """Raise when several rows map onto one plotted point (an unselected swept axis)."""
    if good.duplicated(subset=list(keys)).any():
        extra = [a for a in swept_axes(good) if a not in keys]
        raise ValueError(
            f"{fig}: several rows per point of {list(keys)}; also swept: {extra}. "
            f"Select one value of each with where={{...}}"
        )


def panel_selection(
    df: pd.DataFrame,
    fig: str,
    where: Where,
    columns: Sequence[str],
    value: str,
    panel: str | None,
    finite: Sequence[str],
    keys: Sequence[str],
) -> tuple[pd.DataFrame, pd.DataFrame, list[Any]]:
    """Rows of a figure with optional panels by ``panel``.

    Returns the rows ``where`` selects (``columns``, ``panel`` and ``value`` checked,
    :func:`select`); the successful ones with finite ``finite`` values (:func:`split_ok`),
    one per point of ``(panel, *keys)`` (:func:`check_unique`); and the panel values in plot
    order (``[None]`` without panels).
    """
    by = [panel] if panel else []
    sel = select(df, fig, where, [*columns, *by, value])
    good, _ = split_ok(sel, fig, where, finite)
    check_unique(good, fig, [*by, *keys])
    panels = sort_values(panel, sel[panel]) if panel else [None]
    return sel, good, panels


def panel_rows(rows: pd.DataFrame, panel: str | None, value: Any) -> pd.DataFrame:
    """The rows of the panel ``panel = value`` (all rows without panels)."""
    if value is None or panel is None:
        return rows
    return rows[match(rows[panel], panel, value)]


def model_panel_grid(sel: pd.DataFrame, height: float) -> tuple[Figure, list[Axes], list[Any]]:
    """One panel per model of ``sel`` (two per row, shared y axis): figure, axes, models."""
    models = sort_values("model", sel["model"])
    fig, axes = panel_grid(len(models), height, max_cols=2, sharey=True)
    return fig, axes, models


def model_panels(
    axes: Sequence[Axes],
    models: Sequence[Any],
    sel: pd.DataFrame,
    good: pd.DataFrame,
    failed: dict[str, int],
) -> Iterator[tuple[Axes, Any, pd.DataFrame, pd.DataFrame]]:
    """(axes, model, its rows, its successful rows) of every model panel to draw.

    Each panel gets the model's name as its title; its failed rows are counted in ``failed``
    (by model name); a model without a successful point says so in its panel and is skipped.
    """
    for ax, model in zip(axes, models, strict=True):
        rows = sel[sel["model"] == model]
        ok = good[good["model"] == model]
        failed[value_text("model", model)] = len(rows) - len(ok)
        ax.set_title(value_text("model", model), loc="left", fontweight="bold")
        if ok.empty:
            ax.text(0.5, 0.5, "no successful points", transform=ax.transAxes, ha="center")
            continue
        yield ax, model, rows, ok


def energy_scale(energy: pd.Series) -> tuple[float, str, bool]:
    """(factor, SI unit, log axis) of an energy axis (J): log when the values span a decade."""
    log_x = spans_decades(energy)
    factor, unit = si_scale(energy, "J", log=log_x)
    return factor, unit, log_x


def energy_axis(ax: Axes, unit: str, log_x: bool) -> None:
    """Label the energy axis (:func:`energy_scale`'s unit), logarithmic when ``log_x``."""
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(f"Energy per inference ({unit}{', log scale' if log_x else ''})")


def footnote(fig: Figure, failed: Sequence[str], notes: Sequence[str] = ()) -> None:
    """Small italic footnote under the figure: what failed and is not shown, plus notes."""
    failed = [f for f in failed if f]
    parts = ([f"Not shown: {', '.join(failed)}"] if failed else []) + [n for n in notes if n]
    if parts:
        text = fig.supxlabel(
            "; ".join(parts) + ".", x=0.995, ha="right", fontsize=6, style="italic", color="#555555"
        )
        text.set_gid("note")


def failed_text(counts: Mapping[str, int], what: str = "grid point") -> str:
    """``5 failed grid points (CNN: 3, MLP: 2)``, or "" when nothing failed."""
    total = sum(counts.values())
    if not total:
        return ""
    text = f"{total} failed {what}{'s' if total != 1 else ''}"
    parts = [f"{k}: {n}" for k, n in counts.items() if n]
    return text + (f" ({', '.join(parts)})" if len(counts) > 1 else "")


def panel_grid(n: int, height: float, max_cols: int = 3, **kw: Any) -> tuple[Figure, list[Axes]]:
    """A figure with ``n`` panels, at most ``max_cols`` per row; unused cells removed."""
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=figsize(height * rows), squeeze=False, **kw)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def panel_title(name: str, value: Any) -> str:
    if name == "read_noise":
        return f"Read noise σ = {fmt_number(value)}"
    if name == "v":
        return f"Drift ν = {fmt_number(value)}"
    return value_text(name, value)


def float_reference(ax: Axes, rows: pd.DataFrame) -> None:
    values = percent(rows["float_accuracy"].dropna().unique()) if len(rows) else []
    if len(values) == 0:
        return
    lo, hi = float(np.min(values)), float(np.max(values))
    if math.isclose(lo, hi, abs_tol=1e-9):
        ax.axhline(lo, color="black", ls=":", lw=0.9, label="Float model", gid="float-reference")
    else:
        ax.axhspan(
            lo,
            hi,
            color="black",
            alpha=0.1,
            lw=0,
            label="Float models (range)",
            gid="float-reference",
        )

"""One function per thesis figure. Each takes the tidy table and returns a matplotlib Figure.

Every function raises ``ValueError`` naming the figure and the filter when nothing is left to
draw, skips failed rows with a note above the affected panel, and tags its data artists with a
``gid`` (``"grid"``, ``"pareto-front"``, ``"pareto-points"``, ``"float-reference"``,
``"series"``, ``"band"``, ``"bar"``, ``"selected"``) so callers and tests can find them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from cimsweep.plots.style import (
    COMPONENT_COLORS,
    COMPONENT_LABELS,
    HIGHLIGHT,
    NEUTRAL,
    OKABE_ITO,
    SEQUENTIAL_CMAP,
    TIME_UNITS,
    config_text,
    figsize,
    fmt_number,
    human_time,
    model_linestyle,
    model_marker,
    param_label,
    percent,
    plain_log_axis,
    si_scale,
    sort_values,
    spans_decades,
    styled,
    value_colors,
    value_text,
)
from cimsweep.results import COMPONENTS, pareto_front, swept_axes
from cimsweep.workflow.params import PARAMS, canonical, token

Where = Mapping[str, Any] | None

# --- shared helpers ---------------------------------------------------------------------------


def _match(series: pd.Series, name: str, wanted: Any) -> pd.Series:
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


def _select(df: pd.DataFrame, fig: str, where: Where, needed: Sequence[str]) -> pd.DataFrame:
    """Apply ``where`` and check columns; raise if no row is left."""
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{fig}: table lacks column(s) {missing}")
    out = df
    for name, wanted in (where or {}).items():
        if name not in out.columns:
            raise ValueError(f"{fig}: where={dict(where or {})} names unknown column {name!r}")
        out = out[_match(out[name], name, wanted)]
    if out.empty:
        raise ValueError(f"{fig}: no data to draw (where={dict(where or {})}: 0 rows match)")
    return out


def _split_ok(
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


def _check_unique(good: pd.DataFrame, fig: str, keys: Sequence[str]) -> None:
    """Raise when several rows map onto one plotted point (an unselected swept axis)."""
    if good.duplicated(subset=list(keys)).any():
        extra = [a for a in swept_axes(good) if a not in keys]
        raise ValueError(
            f"{fig}: several rows per point of {list(keys)}; also swept: {extra}. "
            f"Select one value of each with where={{...}}"
        )


def _footnote(fig: Figure, failed: Sequence[str], notes: Sequence[str] = ()) -> None:
    """Small italic footnote under the figure: what failed and is not shown, plus notes."""
    failed = [f for f in failed if f]
    parts = ([f"Not shown: {', '.join(failed)}"] if failed else []) + [n for n in notes if n]
    if parts:
        text = fig.supxlabel(
            "; ".join(parts) + ".", x=0.995, ha="right", fontsize=6, style="italic", color="#555555"
        )
        text.set_gid("note")


def _failed_text(counts: Mapping[str, int], what: str = "grid point") -> str:
    """``5 failed grid points (CNN: 3, MLP: 2)``, or "" when nothing failed."""
    total = sum(counts.values())
    if not total:
        return ""
    text = f"{total} failed {what}{'s' if total != 1 else ''}"
    parts = [f"{k}: {n}" for k, n in counts.items() if n]
    return text + (f" ({', '.join(parts)})" if len(counts) > 1 else "")


def _grid(n: int, height: float, max_cols: int = 3, **kw: Any) -> tuple[Figure, list[Axes]]:
    """A figure with ``n`` panels, at most ``max_cols`` per row; unused cells removed."""
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=figsize(height * rows), squeeze=False, **kw)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.remove()
    return fig, flat[:n]


def _title(name: str, value: Any) -> str:
    if name == "read_noise":
        return f"Read noise σ = {fmt_number(value)}"
    if name == "v":
        return f"Drift ν = {fmt_number(value)}"
    return value_text(name, value)


def _overlap(a: Bbox, b: Bbox) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _outside(bb: Bbox, frame: Bbox) -> float:
    inside = _overlap(bb, frame)
    return bb.width * bb.height - inside


# Candidate label offsets (points): eight directions at growing distances.
_DIRECTIONS = ((-1, 1), (0, 1), (-1, 0), (1, 1), (-1, -1), (1, 0), (1, -1), (0, -1))
_OFFSETS = [
    (dx * r * (0.75 if dx and dy else 1.0), dy * r * (0.75 if dx and dy else 1.0))
    for r in (6.0, 11.0, 17.0, 24.0, 32.0, 42.0)
    for dx, dy in _DIRECTIONS
]


def _text_box(ann: Annotation, renderer: Any) -> Bbox:
    """Pixel box of an annotation's text (without its leader line)."""
    ann.update_positions(renderer)
    return Text.get_window_extent(ann, renderer)


def _path_boxes(
    ax: Axes, xs: Sequence[float], ys: Sequence[float], step: float = 4.0
) -> list[Bbox]:
    """Small pixel boxes sampled along a polyline given in data coordinates."""
    px = ax.transData.transform(np.column_stack([xs, ys]).astype(float))
    out = []
    for (x0, y0), (x1, y1) in zip(px[:-1], px[1:], strict=True):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
        for f in np.linspace(0.0, 1.0, n + 1):
            x, y = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
            out.append(Bbox.from_extents(x - 1.5, y - 1.5, x + 1.5, y + 1.5))
    return out


def _candidate_box(
    p: np.ndarray, off: tuple[float, float], size: tuple[float, float], scale: float
) -> Bbox:
    """Pixel box of a label of ``size`` anchored at point ``p`` + offset (points)."""
    (dx, dy), (w, h) = off, size
    ax_, ay = p[0] + dx * scale, p[1] + dy * scale
    x0 = ax_ if dx > 0 else ax_ - w if dx < 0 else ax_ - w / 2
    y0 = ay if dy > 0 else ay - h if dy < 0 else ay - h / 2
    return Bbox.from_bounds(x0, y0, w, h)


def _leader(p: np.ndarray, bb: Bbox) -> tuple[np.ndarray, np.ndarray]:
    """Segment from a point to the nearest point of a box."""
    q = np.array([min(max(p[0], bb.x0), bb.x1), min(max(p[1], bb.y0), bb.y1)])
    return p, q


def _segments_cross(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> bool:
    def orient(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    (p1, p2), (p3, p4) = a, b
    d1, d2 = orient(p3, p4, p1), orient(p3, p4, p2)
    d3, d4 = orient(p1, p2, p3), orient(p1, p2, p4)
    return d1 * d2 < 0 and d3 * d4 < 0


def _segment_hits_box(seg: tuple[np.ndarray, np.ndarray], bb: Bbox) -> bool:
    p, q = seg
    return any(bb.contains(*(p + f * (q - p))) for f in np.linspace(0.05, 0.95, 10))


def _place_labels(
    ax: Axes,
    points: Sequence[tuple[float, float]],
    texts: Sequence[str],
    obstacles: Sequence[tuple[float, float]] = (),
    lines: Sequence[tuple[Sequence[float], Sequence[float]]] = (),
    fontsize: float = 5.5,
) -> list[Annotation]:
    """Place labels around points, minimising overlaps, by coordinate descent over offsets.

    Costs (pixel overlap areas, weighted): other labels and the labelled points (heavy), other
    ``obstacles`` points and ``lines`` (polylines in data coordinates; medium), any part outside
    the axes (heavy), crossing leader lines (heavy), leader length (slight). Call after a full
    draw so that the layout, and thus the data-to-pixel transform, is final.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    scale = fig.dpi / 72.0
    r = 2.5 * scale  # marker half size in pixels
    if not points:
        return []
    pts = ax.transData.transform(np.asarray(points, dtype=float))
    hard = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in pts]
    soft = [b for xs, ys in lines for b in _path_boxes(ax, xs, ys)]
    if len(obstacles):
        opx = ax.transData.transform(np.asarray(obstacles, dtype=float))
        soft += [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in opx]
    sizes = []
    for xy, text in zip(points, texts, strict=True):
        ann = _annotation(ax, xy, text, 1, 1, fontsize, leader=False)
        bb = _text_box(ann, renderer)
        ann.remove()
        sizes.append((bb.width + 2, bb.height + 2))
    n = len(points)
    boxes = [[_candidate_box(pts[i], o, sizes[i], scale) for o in _OFFSETS] for i in range(n)]
    static = [
        [
            20 * _outside(bb, frame)
            + sum(20 * _overlap(bb, h) for j, h in enumerate(hard) if j != i)
            + 20 * _overlap(bb, hard[i])
            + sum(2 * _overlap(bb, o) for o in soft)
            + 1.0 * math.hypot(*_OFFSETS[k]) * scale
            for k, bb in enumerate(boxes[i])
        ]
        for i in range(n)
    ]

    def pair_cost(i: int, k: int, j: int, m: int) -> float:
        bi, bj = boxes[i][k], boxes[j][m]
        li, lj = _leader(pts[i], bi), _leader(pts[j], bj)
        cost = 10 * _overlap(bi, bj)
        cost += 400 * _segments_cross(li, lj)
        cost += 200 * (_segment_hits_box(li, bj) + _segment_hits_box(lj, bi))
        return cost

    choice = [int(np.argmin(static[i])) for i in range(n)]
    for _ in range(4):  # coordinate descent over label offsets
        changed = False
        for i in range(n):
            costs = [
                static[i][k] + sum(pair_cost(i, k, j, choice[j]) for j in range(n) if j != i)
                for k in range(len(_OFFSETS))
            ]
            best = int(np.argmin(costs))
            if best != choice[i]:
                choice[i], changed = best, True
        if not changed:
            break
    out = []
    for i, (xy, text) in enumerate(zip(points, texts, strict=True)):
        dx, dy = _OFFSETS[choice[i]]
        out.append(_annotation(ax, xy, text, dx, dy, fontsize, leader=math.hypot(dx, dy) > 7))
    return out


def _annotation(
    ax: Axes, xy: tuple[float, float], text: str, dx: float, dy: float, size: float, leader: bool
) -> Annotation:
    ann = ax.annotate(
        text,
        xy,
        xytext=(dx, dy),
        textcoords="offset points",
        ha="left" if dx > 0 else "right" if dx < 0 else "center",
        va="bottom" if dy > 0 else "top" if dy < 0 else "center",
        fontsize=size,
        linespacing=1.0,
        color="#222222",
        gid="pareto-label",
        bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
        arrowprops=(
            {"arrowstyle": "-", "lw": 0.4, "color": "#666666", "shrinkA": 0, "shrinkB": 2}
            if leader
            else None
        ),
        zorder=6,
    )
    ann.set_in_layout(False)
    return ann


def _float_reference(ax: Axes, rows: pd.DataFrame) -> None:
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


# --- 1. accuracy vs energy --------------------------------------------------------------------


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
    sel = _select(df, fig_name, where, ["model", x, y, "status"])
    good, _ = _split_ok(sel, fig_name, where, [x, y])
    models = sort_values("model", sel["model"])
    if label_params is None:
        label_params = [a for a in swept_axes(good) if a != "model"]
    fig, axes = _grid(len(models), 2.9, max_cols=2, sharey=True)
    failed: dict[str, int] = {}
    notes: list[str] = []
    pending: list[tuple[Axes, list[tuple[float, float]], list[str], Any]] = []
    for ax, model in zip(axes, models, strict=True):
        rows = sel[sel["model"] == model]
        ok = good[good["model"] == model]
        failed[value_text("model", model)] = len(rows) - len(ok)
        ax.set_title(value_text("model", model), loc="left", fontweight="bold")
        if ok.empty:
            ax.text(0.5, 0.5, "no successful points", transform=ax.transAxes, ha="center")
            continue
        log_x = spans_decades(ok[x])
        factor, unit = si_scale(ok[x], "J", log=log_x)
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
        _float_reference(ax, rows)
        if log_x:
            ax.set_xscale("log")
        ax.set_xlabel(f"Energy per inference ({unit}{', log scale' if log_x else ''})")
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
    _footnote(fig, [_failed_text(failed)], notes)
    fig.canvas.draw()  # final layout before pixel-based label placement
    for ax, pts, texts, (obstacles, lines, rows) in pending:
        ref = rows["float_accuracy"].dropna()
        if len(ref):
            lo, hi = ax.get_xlim()
            lines = lines + [([lo, hi], [ref.iloc[0] * 100] * 2)]
        _place_labels(ax, pts, texts, obstacles, lines)
    return fig


def _dedup_legend(axes: Sequence[Axes]) -> tuple[list[Any], list[str]]:
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen.keys())


# --- 2 and 4. line figures --------------------------------------------------------------------


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
    cols = [x, hue, "model", "status"] + ([panel] if panel else [])
    sel = _select(df, fig_name, where, cols + [y])
    if "accuracy_std" not in sel.columns:
        sel = sel.assign(accuracy_std=np.nan)
    good, _ = _split_ok(sel, fig_name, where, [x, y])
    keys = ([panel] if panel else []) + ["model", hue, x]
    _check_unique(good, fig_name, keys)
    panels = sort_values(panel, sel[panel]) if panel else [None]
    models = sort_values("model", good["model"])
    colors = value_colors(hue, sel[hue])
    fig, axes = _grid(len(panels), height, max_cols=3, sharey=True, sharex=True)
    failed: dict[str, int] = {}
    for ax, pv in zip(axes, panels, strict=True):
        rows = sel if pv is None else sel[_match(sel[panel], panel, pv)]
        ok = good.loc[good.index.intersection(rows.index)]
        if pv is not None:
            ax.set_title(_title(panel, pv), loc="left")
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
        failed[_title(panel, pv) if panel else ""] = len(rows) - len(ok)
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
    _footnote(fig, [_failed_text(failed)])
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
    sel = _select(df, fig_name, where, ["model", x, y, hue, "status"])
    good, _ = _split_ok(sel, fig_name, where, [x, y])
    models = sort_values("model", sel["model"])
    colors = value_colors(hue, sel[hue])
    fig, axes = _grid(len(models), 2.9, max_cols=2, sharey=True)
    failed: dict[str, int] = {}
    for ax, model in zip(axes, models, strict=True):
        rows = sel[sel["model"] == model]
        ok = good[good["model"] == model]
        failed[value_text("model", model)] = len(rows) - len(ok)
        ax.set_title(value_text("model", model), loc="left", fontweight="bold")
        if ok.empty:
            ax.text(0.5, 0.5, "no successful points", transform=ax.transAxes, ha="center")
            continue
        log_x = spans_decades(ok[x])
        factor, unit = si_scale(ok[x], "J", log=log_x)
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
        _float_reference(ax, rows)
        if log_x:
            ax.set_xscale("log")
            plain_log_axis(ax.xaxis)
        ax.set_xlabel(f"Energy per inference ({unit}{', log scale' if log_x else ''})")
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
    _footnote(fig, [_failed_text(failed)])
    return fig


# --- 3. heatmap -------------------------------------------------------------------------------


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
    cols = [x, y, "model", "status"] + ([panel] if panel else [])
    sel = _select(df, fig_name, where, cols + [value])
    good, _ = _split_ok(sel, fig_name, where, [value])
    keys = ([panel] if panel else []) + ["model", x, y]
    _check_unique(good, fig_name, keys)
    models = sort_values("model", sel["model"])
    panels = sort_values(panel, sel[panel]) if panel else [None]
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
        rows = sel[sel["model"] == model]
        if pv is not None:
            rows = rows[_match(rows[panel], panel, pv)]
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
        if pv is not None:
            title.append(_title(panel, pv))
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
    fig.colorbar(image, ax=grid.ravel().tolist(), label="Accuracy (%)", shrink=0.9, pad=0.02)
    return fig


# --- 5. breakdown -----------------------------------------------------------------------------


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
    sel = _select(df, fig_name, None, ["model", "status", "energy_J", "area_mm2"])
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
    top, bottom = fig.subfigures(2, 1, height_ratios=[0.6 + 0.32 * len(chosen), 2.3])
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
    _footnote(
        fig,
        [
            _failed_text({"": n_chosen - len(chosen)}, "selected configuration"),
            _failed_text({"": int((sel["status"] != "ok").sum())}, "grid point"),
        ],
    )
    ax.legend(loc="best", fontsize=6)
    fig.canvas.draw()
    ok_xy = [(a, b) for a, b in zip(cx, cy, strict=True) if np.isfinite(a) and np.isfinite(b)]
    ok_txt = [
        k for k, a, b in zip(letters, cx, cy, strict=True) if np.isfinite(a) and np.isfinite(b)
    ]
    obstacles = list(zip(percent(pts["accuracy_mean"]), pts["tops_per_w"], strict=True))
    for ann in _place_labels(ax, ok_xy, ok_txt, obstacles, fontsize=7):
        ann.set_fontweight("bold")
    return fig


# --- 6. per-layer diagnostics -----------------------------------------------------------------


@styled
def layer_diagnostics(
    layers: Mapping[str, Mapping[str, float]], *, title: str | None = None
) -> Figure:
    """Per-layer ADC clip rate (%) and output SNR (dB) of one grid point, in layer order.

    ``layers``: ``{layer_name: {"adc_clip_rate": fraction, "snr_db": dB}}``.
    """
    if not layers:
        raise ValueError("layer_diagnostics: no data to draw (empty layer dict)")
    for name, d in layers.items():
        missing = {"adc_clip_rate", "snr_db"} - set(d)
        if missing:
            raise ValueError(f"layer_diagnostics: layer {name!r} lacks {sorted(missing)}")
    names = list(layers)
    clip = np.array([float(layers[n]["adc_clip_rate"]) for n in names]) * 100
    snr = np.array([float(layers[n]["snr_db"]) for n in names])
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

"""Label placement: Pareto-point labels that overlap neither each other, the data nor the
panel frame (greedy search over candidate offsets)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox


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


def place_labels(
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
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg canvases have it
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

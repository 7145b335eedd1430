"""Thesis figures drawn from the tidy results table (see :mod:`cimsweep.results`).

One function per figure, declared in :data:`cimsweep.plots.catalog.FIGURES` and exported here
by name (imported on first use, so ``import cimsweep.plots.catalog`` stays light).
"""

from __future__ import annotations

from typing import Any

from cimsweep.plots.catalog import FIGURES, FigureSpec

__all__ = ["FIGURES", "TEXT_WIDTH", "FigureSpec", "save_figure", *FIGURES]


def __getattr__(name: str) -> Any:
    if name in FIGURES:
        return FIGURES[name].load()
    if name in ("TEXT_WIDTH", "save_figure"):
        from cimsweep.plots import style

        return getattr(style, name)
    raise AttributeError(f"module 'cimsweep.plots' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

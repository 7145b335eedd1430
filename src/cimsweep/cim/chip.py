"""One programmed chip instance of a layer and the read statistics a forward pass collects."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch


@dataclass
class Chip:
    """One programmed chip instance of a layer."""

    bucket_weights: list[torch.Tensor]  # per bucket (G_b, p_b, n_w * phys_cols), unit products
    effective: torch.Tensor | None = None  # (rows, cols) integer weights for the linear path
    scale: torch.Tensor | None = None  # (G, n_w) global drift compensation factors
    # cells perturbed per call (LayerEngine.per_call): programmed normalised levels
    # (n_w, rows, phys_cols) before drift, and the stuck masks
    n0: torch.Tensor | None = None
    masks: tuple[torch.Tensor, torch.Tensor] | None = None


@dataclass
class LayerStats:
    """Accumulated per-layer statistics over reads and instances."""

    reads: int = 0
    clipped: int = 0
    signal: float = 0.0
    error: float = 0.0
    extra: dict = field(default_factory=dict)

    def snr_db(self) -> float | None:
        """Output SNR vs. the digital reference in dB; None when error or signal is zero."""
        if self.error <= 0 or self.signal <= 0:
            return None
        return 10.0 * math.log10(self.signal / self.error)

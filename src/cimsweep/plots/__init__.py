"""Thesis figures drawn from the tidy results table (see :mod:`cimsweep.results`)."""

from cimsweep.plots.figures import (
    accuracy_heatmap,
    accuracy_vs_adc,
    accuracy_vs_energy,
    accuracy_vs_noise,
    accuracy_vs_retention,
    breakdown,
    layer_diagnostics,
    pareto_by_training,
)
from cimsweep.plots.style import TEXT_WIDTH, save_figure

__all__ = [
    "TEXT_WIDTH",
    "accuracy_heatmap",
    "accuracy_vs_adc",
    "accuracy_vs_energy",
    "accuracy_vs_noise",
    "accuracy_vs_retention",
    "breakdown",
    "layer_diagnostics",
    "pareto_by_training",
    "save_figure",
]

"""Which figures a sweep draws and which axes each pins."""

from __future__ import annotations

from cimsweep.workflow.config import load
from cimsweep.workflow.figspec import figure_options, figures_to_draw

GRID = {
    "model": ["mlp", "cnn"],
    "training": ["float", "noise_aware"],
    "adc_precision": [3, 4, 6],
    "read_noise": [0.0, 0.2, 0.4],
}


def test_comparison_figures_are_drawn_only_when_their_axis_is_swept():
    with_training = load({"grid": GRID})
    without = load({"grid": {"adc_precision": [3, 4]}})
    assert {"accuracy_vs_noise", "pareto_by_training"} <= set(figures_to_draw({}, with_training))
    assert not {"accuracy_vs_noise", "pareto_by_training"} & set(figures_to_draw({}, without))
    assert figures_to_draw({"draw": ["pareto_by_training"]}, without) == ["pareto_by_training"]


def test_pareto_fronts_span_hardware_axes_and_pin_the_rest():
    sweep = load({"params": {"read_noise": 0.2, "adc_precision": 4}, "grid": GRID})
    assert figure_options(sweep, {}, "pareto_by_training") == {"where": {"read_noise": 0.2}}
    # the noise figure plots read noise per training mode and pins the ADC instead
    assert figure_options(sweep, {}, "accuracy_vs_noise") == {"where": {"adc_precision": 4}}

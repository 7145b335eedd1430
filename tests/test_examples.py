"""Every script of examples/ runs, and what it prints is what the hardware model implies."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import REPO

EXAMPLES = sorted((REPO / "examples").glob("[0-9][0-9]_*.py"))


def _main(name: str) -> Callable[[], Any]:
    return runpy.run_path(str(REPO / "examples" / name), run_name="example")["main"]


def test_examples_are_numbered_and_all_tested() -> None:
    assert [p.name[:2] for p in EXAMPLES] == [f"{i:02d}" for i in range(1, len(EXAMPLES) + 1)]
    assert {p.name for p in EXAMPLES} == {
        "01_simulate_a_layer.py",
        "02_evaluate_a_model.py",
        "03_estimate_ppa.py",
    }


def test_01_read_noise_costs_accuracy() -> None:
    acc = _main("01_simulate_a_layer.py")()
    assert acc[0.0] > 0.9  # labels are the float layer's decisions
    assert acc[0.0] >= acc[0.05] >= acc[0.2]
    assert acc[0.2] < acc[0.0]


def test_02_wider_adc_recovers_the_float_accuracy() -> None:
    acc = _main("02_evaluate_a_model.py")()
    assert acc["float"] > 0.8
    assert acc["adc6"] > acc["adc3"]
    assert acc["adc6"] == pytest.approx(acc["float"], abs=0.05)


def test_03_bigger_subarrays_cost_area() -> None:
    ppa = _main("03_estimate_ppa.py")()
    for totals in ppa.values():
        assert all(v > 0 for v in totals.values())
    assert ppa[128]["area_mm2"] > ppa[64]["area_mm2"]
    assert ppa[128]["energy_J"] != ppa[64]["energy_J"]

"""The committed NeuroSim V1.4 outputs on the design of experiments, and the estimator against them.

``tests/data/neurosim_v1.4_ppa.csv`` holds NeuroSim V1.4's printed figures (facts: the commit
and the trace statistics are in ``neurosim_v1.4_ppa.json``), written by
``python -m cimsweep.ppa.fit --neurosim DIR`` (the small CNN's full design) and
``... --network vgg8 --append`` (VGG8's one-axis subset). The issue-18 agreement targets on the
held-out fifth are asserted, on all points and on VGG8's alone; where the analytical model does
not meet them yet they are strict expected failures, and the marks must go when it does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cimsweep.ppa import fit

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "tests" / "data" / "neurosim_v1.4_ppa.csv"
META = REPO / "tests" / "data" / "neurosim_v1.4_ppa.json"
CALIB = REPO / "config" / "tech" / "calibration_neurosim_v1.4.yaml"
TECH = REPO / "config" / "tech"


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return fit.read_table(TABLE)


@pytest.fixture(scope="module")
def held_out(rows: list[dict]) -> dict:
    factors = yaml.safe_load(CALIB.read_text())["factors"]
    rs = [r for r in fit.ratios(rows, TECH, factors) if r["fold"] == 0]
    return fit.summary(rs)


@pytest.fixture(scope="module")
def held_out_vgg8(rows: list[dict]) -> dict:
    factors = yaml.safe_load(CALIB.read_text())["factors"]
    rs = [r for r in fit.ratios(rows, TECH, factors) if r["fold"] == 0 and r["network"] == "vgg8"]
    return fit.summary(rs)


def test_table_records_its_neurosim_and_traces(rows: list[dict]) -> None:
    meta = json.loads(META.read_text())
    assert meta["neurosim_commit"] == "ac828e6723bf077c9b1423c5c72ff6e4981e90f4"
    assert meta["points"] == len(rows) and len({r["id"] for r in rows}) == len(rows)
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) >= 0.8 * len(rows)
    assert all(0.0 < r["trace_one_bit_fraction"] < 1.0 for r in ok)
    assert all(r["error"] for r in rows if r["status"] != "ok")
    assert {r["fold"] for r in rows} == set(range(fit.HELD_OUT_EVERY))
    assert set(meta["networks"]) == {r["network"] for r in rows} == {"cnn", "vgg8"}
    for net, facts in meta["networks"].items():
        sub = [r for r in ok if r["network"] == net]
        assert facts["ok_points"] == len(sub)
        # one network, one input image: the same trace statistics on every point
        fractions = {r["trace_one_bit_fraction"] for r in sub}
        assert len(fractions) == 1
        assert facts["mean_input_one_bit_fraction"] == pytest.approx(fractions.pop(), rel=1e-12)


def test_table_is_the_design_of_experiments(rows: list[dict]) -> None:
    """Every row is the DOE point of its id (network, axis, fold, hardware); VGG8 has points in
    the held-out fold and its base point and one-axis points share the CNN's base."""
    design = {p["id"]: p for p in fit.doe(networks=fit.NETWORKS)}
    for r in rows:
        p = design[r["id"]]
        assert (r["network"], r["axis"], r["fold"]) == (p["network"], p["axis"], p["fold"])
        assert fit.hw_point(r) == fit.hw_point(p)
    vgg8 = [r for r in rows if r["network"] == "vgg8"]
    assert any(r["axis"] == "base" for r in vgg8) and len(vgg8) >= 7
    assert sum(r["fold"] == 0 for r in vgg8) >= 2
    # the same hardware point draws more area, energy and time on the bigger network
    base = {r["network"]: r for r in rows if r["axis"] == "base"}
    for m in ("area_mm2", "dynamic_energy_J", "latency_s"):
        assert base["vgg8"][m] > base["cnn"][m]


def test_committed_calibration_is_the_fit_of_the_table(rows: list[dict]) -> None:
    committed = yaml.safe_load(CALIB.read_text())
    assert committed["neurosim_version"] == "1.4"
    refit = fit.fit(rows, TECH)
    cells = refit.pop("cells")
    want = dict(committed["factors"])
    want_cells = want.pop("cells")
    assert refit == pytest.approx(want, rel=1e-9)
    assert set(cells) == set(want_cells) == {"1T1R", "SRAM"}
    for fam, f in cells.items():
        assert f == pytest.approx(want_cells[fam], rel=1e-9)


def test_calibration_holds_on_the_training_folds(rows: list[dict]) -> None:
    factors = yaml.safe_load(CALIB.read_text())["factors"]
    train = [r for r in fit.ratios(rows, TECH, factors) if r["fold"] != 0]
    s = fit.summary(train)
    for m in fit.FITTED:
        assert s[m]["geomean"] == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("metric", fit.METRICS)
def test_held_out_within_target(held_out: dict, metric: str) -> None:
    """Issue 18's target on the held-out fifth: within 1.25x geometric mean and 2x worst."""
    g, w = held_out[metric]["geomean"], held_out[metric]["worst"]
    assert 1 / 1.25 <= g <= 1.25 and 1 / 2 <= w <= 2


@pytest.mark.parametrize("metric", fit.METRICS)
def test_held_out_vgg8_within_target(held_out_vgg8: dict, metric: str) -> None:
    """The same target on VGG8's held-out points alone."""
    g, w = held_out_vgg8[metric]["geomean"], held_out_vgg8[metric]["worst"]
    assert 1 / 1.25 <= g <= 1.25 and 1 / 2 <= w <= 2


SHARE_KEYS = [f"energy_share_{k}_pp" for k in fit.ENERGY_SHARES] + [
    f"area_share_{k}_pp" for k in fit.SHARES
]


@pytest.mark.parametrize("key", SHARE_KEYS)
def test_held_out_shares_within_10_pp(held_out: dict, key: str) -> None:
    """Issue 18: the ADC, array and accumulation shares of energy and area on the held-out
    fifth within 10 percentage points of NeuroSim's (its categories: level shifters, switch
    matrices and buffers are "other"; the ADC's energy holds the column current)."""
    assert held_out[key]["max_abs"] <= 10


def test_every_one_axis_trend_in_neurosims_direction(rows: list[dict]) -> None:
    trends = fit.trends(rows, TECH)
    assert all(all(res.values()) for res in trends.values())

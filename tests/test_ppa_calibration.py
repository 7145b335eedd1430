"""Calibration files (``ppa_calibration:``): checked on load, applied by the sweep's PPA step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from cimsweep.ppa import estimate, fit, load_tech
from cimsweep.ppa.calibration import (
    FACTOR_KEYS,
    CalibrationError,
    apply_calibration,
    load_calibration,
    point_factors,
)
from cimsweep.ppa.reference import NEUROSIM_HW, vgg8_geometry
from cimsweep.workflow import config, steps
from cimsweep.workflow.params import PARAMS, stage_params
from tests.conftest import snakemake, write_config

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "config" / "tech" / "calibration_neurosim_v1.4.yaml"
TECH22 = REPO / "config" / "tech" / "22nm.yaml"


def test_committed_calibration_loads() -> None:
    cal = load_calibration(COMMITTED)
    assert cal.version == "1.4"
    assert set(cal.factors) == {*FACTOR_KEYS, "cells"}
    assert set(cal.factors["cells"]) == {"1T1R", "SRAM"}
    for cell in ("1T1R", "SRAM6T", "SRAM8T"):
        f = point_factors(cal.factors, cell)
        assert set(f) == set(FACTOR_KEYS) and all(x > 0 for x in f.values())
    # SRAM8T is calibrated as an SRAM cell
    assert point_factors(cal.factors, "SRAM8T") == point_factors(cal.factors, "SRAM6T")
    fam = cal.factors["cells"]["1T1R"]
    assert point_factors(cal.factors, "1T1R")["area_mm2"] == pytest.approx(
        cal.factors["area_mm2"] * fam["area_mm2"]
    )
    # the fit ran with NeuroSim's weight duplication, leakage accounting and network-sized
    # tiles; the calibration carries them, as the fit tool wrote them
    assert cal.tech == fit.NEUROSIM_TECH
    assert cal.tech["arch"]["tile_sizing"] == "network"


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"factors": {"area": 2.0}}, "factors.area"),
        ({"factors": {"latency_s": -1.0}}, "factors.latency_s"),
        ({"factors": {"latency_s": "fast"}}, "factors.latency_s"),
        ({"factors": {"cells": {"SRAM": {"area_mm2": 0}}}}, "factors.cells.SRAM.area_mm2"),
        ({"factors": {"cells": {"SRAM": {"tops": 2.0}}}}, "factors.cells.SRAM.tops"),
        ({"factors": {}, "tech": {"adc": {"comparator_gates": 3}}}, "tech.adc.comparator_gates"),
        ({"factors": {}, "tech": {"arch": {"pipeline_speedup_degree": 0}}}, "pipeline_speedup"),
        ({"factors": {}, "tech": {"arch": {"pipeline_leakage": "never"}}}, "pipeline_leakage"),
        ({"factors": {}, "tech": {"arch": {"tile_sizing": "huge"}}}, "tile_sizing"),
        ({"neurosim_version": "1.4"}, "factors"),
    ],
)
def test_bad_calibration_names_file_and_key(tmp_path: Path, body: dict, names: str) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text(yaml.safe_dump(body))
    with pytest.raises(CalibrationError, match=names) as info:
        load_calibration(path)
    assert str(path) in str(info.value)


def test_missing_calibration_file(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="does not exist"):
        load_calibration(tmp_path / "none.yaml")


def test_config_accepts_ppa_calibration() -> None:
    sweep = config.load({"params": {"ppa_calibration": str(COMMITTED)}})
    assert sweep.values["ppa_calibration"] == str(COMMITTED)
    assert "ppa_calibration" in stage_params("ppa")
    assert PARAMS["ppa_calibration"].default == ""
    with pytest.raises(config.ConfigError):
        config.load({"grid": {"ppa_calibration": [str(COMMITTED)]}})


def _ppa(tmp_path: Path, name: str, **values: object) -> dict:
    geo = tmp_path / "geometry.json"
    geo.write_text(json.dumps({"layers": vgg8_geometry()}))
    hw = {p: PARAMS[p].default for p in stage_params("ppa")}
    hw.update({k: v for k, v in NEUROSIM_HW.items() if k in hw}, **values)
    out = tmp_path / f"{name}.json"
    steps.ppa(str(geo), str(TECH22), str(out), hw)
    return json.loads(out.read_text())


@pytest.mark.parametrize("mode", ["layer", "pipeline"])
def test_ppa_step_applies_the_calibration(tmp_path: Path, mode: str) -> None:
    """The sweep's PPA result = the estimate with the file's tech settings, scaled by its
    factors; TOPS/W and TOPS follow from the scaled parts; the file is recorded."""
    cal = load_calibration(COMMITTED)
    got = _ppa(tmp_path, "cal", ppa_mode=mode, ppa_calibration=str(COMMITTED))
    plain = _ppa(tmp_path, "plain", ppa_mode=mode)
    assert got["status"] == plain["status"] == "ok"
    assert got["calibration"]["file"] == str(COMMITTED)
    assert got["calibration"]["neurosim_version"] == "1.4"
    tech = cal.apply_tech(load_tech(TECH22))
    raw = estimate(vgg8_geometry(), {**plain["params"], "ppa_mode": mode}, tech)
    want = apply_calibration(raw, cal.factors)["total"]
    for m in ("area_mm2", "dynamic_energy_J", "leakage_power_W", "latency_s", "tops_per_w"):
        assert got["total"][m] == pytest.approx(want[m], rel=1e-12)
    assert got["total"]["area_mm2"] == pytest.approx(
        raw["total"]["area_mm2"] * point_factors(cal.factors, "1T1R")["area_mm2"], rel=1e-12
    )
    assert got["calibration"]["factors"] == point_factors(cal.factors, "1T1R")
    assert "calibration" not in plain
    if mode == "pipeline":  # the duplication setting came with the file
        assert [r["duplication"] for r in got["layers"]][:2] == [16, 16]
        assert [r["duplication"] for r in plain["layers"]] == [1] * len(plain["layers"])


def test_sweep_with_bad_calibration_stops_before_any_job(tmp_path: Path) -> None:

    bad = tmp_path / "cal.yaml"
    bad.write_text(yaml.safe_dump({"factors": {"area_mm2": 0}}))
    write_config(tmp_path, {"params": {"ppa_calibration": str(bad)}})
    proc = snakemake(tmp_path, "--dry-run", check=False)
    assert proc.returncode != 0
    assert "factors.area_mm2" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()


def test_sweep_ppa_jobs_read_the_calibration(tmp_path: Path) -> None:
    """The file is an input of every analytical PPA job (editing it reruns them)."""

    write_config(tmp_path, {"params": {"ppa_calibration": str(COMMITTED)}})
    proc = snakemake(tmp_path, "--dry-run")
    text = proc.stdout + proc.stderr
    ppa_blocks = [b for b in text.split("\n\n") if "rule ppa:" in b]
    assert ppa_blocks and all(str(COMMITTED) in b for b in ppa_blocks)

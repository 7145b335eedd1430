"""The documentation site builds (strict) and its parameter reference covers PARAMS; release
files agree on the version."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import cimsweep
from cimsweep.workflow.paramdoc import allowed, covers_all, render, row, stages
from cimsweep.workflow.params import PARAMS
from tests.conftest import REPO


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(REPO / "src")}
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_parameter_page_lists_every_parameter_once(site: Path) -> None:
    html = (site / "parameters" / "index.html").read_text()
    names = re.findall(r"<tr>\s*<td><code>([a-z_0-9]+)</code>", html)
    assert sorted(names) == sorted(PARAMS)
    assert "<!-- parameter table -->" not in html


def test_api_pages_document_the_entry_points(site: Path) -> None:
    pages = {m: (site / "api" / m / "index.html").read_text() for m in ("cim", "ppa", "plots")}
    assert 'id="cimsweep.cim.evaluate.evaluate"' in pages["cim"]
    assert 'id="cimsweep.ppa.estimate.estimate"' in pages["ppa"]
    assert 'id="cimsweep.plots.energy.accuracy_vs_energy"' in pages["plots"]
    assert (site / "ppa" / "index.html").is_file()
    typed = (site / "stages" / "index.html").read_text()
    assert 'id="cimsweep.workflow.stages.InferValues.read_noise"' in typed  # fields documented
    examples = (site / "examples" / "index.html").read_text()
    for script in sorted((REPO / "examples").glob("[0-9][0-9]_*.py")):
        first = script.read_text().splitlines()[0].strip('"')  # the docstring's first line
        assert first in examples, script.name  # each listing is included
    assert "<!-- example:" not in examples


def test_reference_rows_state_unit_range_stage_and_default() -> None:
    assert covers_all()
    text = render()
    assert text.count("\n| `") == len(PARAMS)
    adc = row(PARAMS["adc_precision"])
    assert adc.startswith("| `adc_precision` | bit | int ≥ ") and "| calib" not in adc
    assert allowed(PARAMS["drift_model"]) == "`neurosim`, `pcm`, `neurosim_conductance`"
    assert stages(PARAMS["device"]) == "run time"
    assert stages(PARAMS["train_noise"]) == "train (noise_aware)"
    assert "\\|" not in row(PARAMS["read_noise"])  # no pipes to escape in a plain row


def test_one_version_source_and_release_files() -> None:
    pyproject = (REPO / "pyproject.toml").read_text()
    assert not re.search(r'^version\s*=\s*"', pyproject, re.M)
    assert 'version = { attr = "cimsweep.__version__" }' in pyproject
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= citation.keys()
    assert citation["version"] == cimsweep.__version__
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{cimsweep.__version__}]" in changelog
    assert (REPO / "LICENSE").read_text().startswith("MIT License")

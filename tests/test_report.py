"""`snakemake --report` on a finished tiny run: every figure is in the HTML with its own caption;
a figure job that fails keeps the previous figure."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from cimsweep.plots.catalog import FIGURES
from tests.conftest import TINY_CONFIG, snakemake, write_config

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def all_figures_run(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run with every registered figure drawn (only the figure jobs run)."""
    target = tmp_path_factory.mktemp("report") / "run"
    shutil.copytree(tiny_run, target, symlinks=True)
    write_config(target, {**TINY_CONFIG, "figures": {"draw": list(FIGURES)}})
    snakemake(target, "--cores", "2")
    return target


def _text(fragment: str) -> str:
    """Plain text of an HTML (or reStructuredText) fragment, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _report_results(report: Path) -> dict:
    """The ``results`` object the report embeds (one entry per file, with its caption)."""
    page = report.read_text()
    match = re.search(r'<script id="results">\s*var results = (\{.*?\});?\s*</script>', page, re.S)
    assert match, "no results object in the report"
    return json.loads(match.group(1))


def test_report_has_every_figure_with_its_own_caption(all_figures_run: Path) -> None:
    report = all_figures_run / "report.html"
    snakemake(all_figures_run, "--report", str(report))
    results = _report_results(report)
    for name, spec in FIGURES.items():
        entry = results[f"results/figures/{name}.png"]
        assert entry["labels"] == {"figure": name}
        assert _text(entry["caption"]) == _text(spec.caption), name
    captions = {_text(e["caption"]) for k, e in results.items() if k.startswith("results/figures")}
    assert len(captions) == len(FIGURES)
    assert "tidy results table" in _text(results["results/tables/sweep.csv"]["caption"])


def test_a_failed_figure_job_keeps_the_previous_figure(
    all_figures_run: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(all_figures_run, run, symlinks=True)
    png = run / "results/figures/accuracy_vs_adc.png"
    before = png.read_bytes()
    (run / "results/tables/sweep.parquet").write_bytes(b"not a parquet file")  # newer: rerun
    proc = snakemake(run, "--cores", "1", "results/figures/accuracy_vs_adc.png", check=False)
    assert proc.returncode != 0
    assert "Restored previous version" in proc.stdout + proc.stderr
    assert png.read_bytes() == before
    assert (run / "results/figures/accuracy_vs_adc.pdf").stat().st_size > 1000

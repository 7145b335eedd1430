"""Tests for the thesis figures on synthetic tables (Agg backend)."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from cimsweep.plots import (  # noqa: E402
    accuracy_heatmap,
    accuracy_vs_adc,
    accuracy_vs_energy,
    accuracy_vs_noise,
    accuracy_vs_retention,
    breakdown,
    layer_diagnostics,
    pareto_by_training,
    save_figure,
)
from cimsweep.plots.style import spans_decades  # noqa: E402
from cimsweep.results import COMPONENTS, build_table, pareto_front  # noqa: E402

MODELS = ("mlp", "cnn")
SUB_ARRAYS = ((64, 64), (128, 128), (256, 256))
ADCS = (3, 4, 5, 6, 7)
NOISES = (0.0, 0.02, 0.05)
TIMES = (1.0, 3600.0, 86400.0, 2.63e6, 3.156e7)
DRIFTS = (0.0, 0.02, 0.05)
TRAININGS = ("float", "qat", "noise_aware")


def _metrics(
    rng: np.random.Generator,
    model: str,
    sa: tuple[int, int],
    adc: int,
    noise: float,
    t: float,
    v: float,
) -> dict:
    """Plausible synthetic accuracy/energy/area for one grid point."""
    base = 0.97 if model == "cnn" else 0.95
    acc = base - 0.4 * np.exp(-(adc - 2)) - 2.0 * noise * sa[0] / 128 - v * np.log10(t) * 2
    acc = float(np.clip(acc + rng.normal(0, 0.003), 0.05, 0.99))
    scale = 30.0 if model == "cnn" else 1.0
    energy = {
        "array": 2e-10 * scale * sa[0] / 128,
        "adc": 1e-10 * scale * 2 ** (adc - 4) * 128 / sa[0],
        "accumulation": 5e-11 * scale,
        "buffer": 8e-11 * scale,
        "interconnect": 3e-11 * scale,
        "other": 1e-11 * scale,
    }
    area = {
        c: a * (1 + adc / 10)
        for c, a in zip(COMPONENTS, (0.2, 0.3, 0.05, 0.1, 0.08, 0.02), strict=True)
    }
    e = sum(energy.values())
    out = {
        "float_accuracy": base + 0.01,
        "quantized_accuracy": base,
        "accuracy_mean": acc,
        "accuracy_std": float(0.002 + noise * 0.2 + v * 0.1),
        "energy_J": e,
        "latency_s": 1e-6,
        "area_mm2": sum(area.values()),
        "tops": 1.0,
        "tops_per_w": float(2e-9 / e * 10),
        "fps": 1e6,
    }
    out |= {f"energy_{c}_J": val for c, val in energy.items()}
    out |= {f"area_{c}_mm2": val for c, val in area.items()}
    return out


def make_table(kind: str = "hw", n_failed: int = 0, seed: int = 0) -> pd.DataFrame:
    """Synthetic tidy table: ``hw`` sweeps model x sub_array x adc x read_noise; ``retention``
    sweeps model x t x v. ``n_failed`` random rows are marked failed (metrics NaN)."""
    rng = np.random.default_rng(seed)
    recs = []
    if kind == "hw":
        grid = itertools.product(MODELS, SUB_ARRAYS, ADCS, NOISES)
        for model, sa, adc, noise in grid:
            recs.append(
                {"model": model, "sub_array": sa, "adc_precision": adc, "read_noise": noise}
                | _metrics(rng, model, sa, adc, noise, 1.0, 0.0)
            )
    elif kind == "training":
        for model, mode, adc, noise in itertools.product(MODELS, TRAININGS, ADCS, NOISES):
            m = _metrics(rng, model, (128, 128), adc, noise, 1.0, 0.0)
            m["accuracy_mean"] += TRAININGS.index(mode) * noise  # training recovers accuracy
            recs.append(
                {"model": model, "training": mode, "adc_precision": adc, "read_noise": noise} | m
            )
    else:
        for model, t, v in itertools.product(MODELS, TIMES, DRIFTS):
            recs.append(
                {"model": model, "t": t, "v": v} | _metrics(rng, model, (128, 128), 5, 0.0, t, v)
            )
    for i in rng.choice(len(recs), n_failed, replace=False):
        recs[i] = {
            k: recs[i][k]
            for k in ("model", "training", "sub_array", "adc_precision", "read_noise", "t", "v")
            if k in recs[i]
        }
        recs[i] |= {"status": "failed", "error": "simulated failure"}
    return build_table(recs)


LAYERS = {
    "net.1": {"adc_clip_rate": 0.012, "snr_db": 24.5},
    "net.3": {"adc_clip_rate": 0.003, "snr_db": 18.2},
    "net.5": {"adc_clip_rate": 0.0005, "snr_db": 12.9},
}


def _check_written(fig: Figure, tmp_path: Path, name: str) -> None:
    """Save, then check both files exist and the PNG is not blank."""
    pdf, png = tmp_path / f"{name}.pdf", tmp_path / f"{name}.png"
    save_figure(fig, pdf, png)
    plt.close(fig)
    assert pdf.read_bytes()[:4] == b"%PDF"
    img = plt.imread(png)
    assert img.shape[1] == pytest.approx(6.3 * 300, abs=2)  # full text width at 300 dpi
    assert float(np.var(img[..., :3])) > 1e-3
    assert not list(tmp_path.glob(".*.tmp"))


def _gid(ax: plt.Axes, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def _note(fig: Figure) -> str:
    """Text of the figure footnote (failed points not shown, etc.)."""
    return " ".join(t.get_text() for t in fig.texts if t.get_gid() == "note")


def _data_axes(fig: Figure) -> list[plt.Axes]:
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_accuracy_vs_energy(tmp_path: Path) -> None:
    df = make_table(n_failed=5, seed=1)
    fig = accuracy_vs_energy(df)
    axes = _data_axes(fig)
    assert len(axes) == 2
    for ax, model in zip(axes, ["cnn", "mlp"], strict=True):
        ok = df[(df["model"] == model) & (df["status"] == "ok")]
        failed = int(((df["model"] == model) & (df["status"] == "failed")).sum())
        bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
        assert len(bars) == 1
        assert len(bars[0].lines[0].get_xdata()) == len(ok)
        front = _gid(ax, "pareto-points")[0]
        assert len(front.get_xdata()) == int(pareto_front(ok).sum())
        assert len(_gid(ax, "pareto-front")) == 1
        assert len(_gid(ax, "float-reference")) == 1
        labels = _gid(ax, "pareto-label")
        assert 0 < len(labels) <= 10
        assert (f"{model.upper()}: {failed}" in _note(fig)) == (failed > 0)
        assert ax.get_xscale() == ("log" if spans_decades(ok["energy_J"]) else "linear")
    _check_written(fig, tmp_path, "energy")


def test_pareto_labels_do_not_overlap() -> None:
    fig = accuracy_vs_energy(make_table(), max_labels=6)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in _data_axes(fig):
        boxes = [Text.get_window_extent(a, renderer) for a in _gid(ax, "pareto-label")]
        frame = ax.get_window_extent(renderer)
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b)
        for b in boxes:
            assert frame.x0 - 2 <= b.x0 and b.x1 <= frame.x1 + 2
    plt.close(fig)


def test_accuracy_vs_adc(tmp_path: Path) -> None:
    df = make_table(n_failed=3)
    fig = accuracy_vs_adc(df)
    axes = _data_axes(fig)
    assert len(axes) == len(NOISES)
    for ax in axes:
        assert len(_gid(ax, "series")) == len(MODELS) * len(SUB_ARRAYS)
        assert len(_gid(ax, "band")) == len(MODELS) * len(SUB_ARRAYS)
    assert "Not shown: 3 failed grid points" in _note(fig)
    _check_written(fig, tmp_path, "adc")
    fig = accuracy_vs_adc(df, where={"model": "mlp", "sub_array": [(64, 64), 128]})
    assert all(len(_gid(ax, "series")) == 2 for ax in _data_axes(fig))
    plt.close(fig)


def test_accuracy_heatmap(tmp_path: Path) -> None:
    df = make_table(n_failed=2)
    fig = accuracy_heatmap(df)
    axes = _data_axes(fig)
    assert len(axes) == len(MODELS) * len(NOISES)
    n_cells = sum(len(_gid(ax, "cell")) for ax in axes)
    assert n_cells == int((df["status"] == "ok").sum())
    assert len([ax for ax in fig.axes if ax.get_label() == "<colorbar>"]) == 1
    _check_written(fig, tmp_path, "heatmap")
    fig = accuracy_heatmap(df, where={"model": "cnn", "read_noise": 0.02})
    assert len(_data_axes(fig)) == 1
    plt.close(fig)


def test_accuracy_vs_retention(tmp_path: Path) -> None:
    df = make_table("retention", n_failed=2)
    fig = accuracy_vs_retention(df)
    (ax,) = _data_axes(fig)
    assert len(_gid(ax, "series")) == len(MODELS) * len(DRIFTS)
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "1 s",
        "1 min",
        "1 h",
        "1 d",
        "1 mo",
        "1 yr",
    ]
    _check_written(fig, tmp_path, "retention")


def test_accuracy_vs_noise_has_one_banded_line_per_training_mode(tmp_path: Path) -> None:
    df = make_table("training", n_failed=2)
    fig = accuracy_vs_noise(df, where={"adc_precision": 5})
    (ax,) = _data_axes(fig)
    assert len(_gid(ax, "series")) == len(MODELS) * len(TRAININGS)
    assert len(_gid(ax, "band")) == len(MODELS) * len(TRAININGS)
    legend = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert "Float training (PTQ)" in legend and "Noise-aware" in legend
    assert legend.index("Float") < legend.index("Quantization-aware") < legend.index("Noise")
    assert ax.get_xlabel().startswith("Read noise")
    _check_written(fig, tmp_path, "noise")


def test_pareto_by_training_draws_one_front_per_mode(tmp_path: Path) -> None:
    df = make_table("training")
    fig = pareto_by_training(df, where={"read_noise": 0.05})
    axes = _data_axes(fig)
    assert len(axes) == len(MODELS)
    for ax, model in zip(axes, ["cnn", "mlp"], strict=True):
        fronts = _gid(ax, "series")
        assert len(fronts) == len(TRAININGS)
        for front, mode in zip(fronts, TRAININGS, strict=True):
            pts = df[(df["model"] == model) & (df["training"] == mode)]
            pts = pts[np.isclose(pts["read_noise"], 0.05)]
            assert len(front.get_xdata()) == int(pareto_front(pts).sum())
        # noise-aware points sit higher: its front's best accuracy is the highest
        tops = [max(f.get_ydata()) for f in fronts]
        assert tops[2] > tops[0]
    _check_written(fig, tmp_path, "pareto_training")


def test_breakdown(tmp_path: Path) -> None:
    df = make_table(n_failed=4)
    ok = df.index[df["status"] == "ok"]
    failed = df.index[df["status"] == "failed"]
    rows = [ok[0], ok[10], ok[40], failed[0]]
    fig = breakdown(df, rows)
    ax_e, ax_a, ax_t = _data_axes(fig)
    for ax in (ax_e, ax_a):
        assert len(ax.containers) == len(COMPONENTS)
        assert all(len(c) == 3 for c in ax.containers)  # failed selection skipped
    assert "1 failed selected configuration" in _note(fig)
    assert len(_gid(ax_t, "selected")[0].get_xdata()) == 3
    _check_written(fig, tmp_path, "breakdown")
    fig = breakdown(df)  # default: Pareto front per model
    assert len(_data_axes(fig)[0].containers[0]) >= 2
    plt.close(fig)


def test_layer_diagnostics(tmp_path: Path) -> None:
    fig = layer_diagnostics(LAYERS, title="MLP, ADC 5 b")
    ax_c, ax_s = _data_axes(fig)
    assert len(ax_c.containers[0]) == len(ax_s.containers[0]) == 3
    assert ax_c.containers[0][0].get_height() == pytest.approx(1.2)
    _check_written(fig, tmp_path, "layers")


@pytest.mark.parametrize(
    "call",
    [
        lambda df: accuracy_vs_energy(df, where={"model": "resnet"}),
        lambda df: accuracy_vs_adc(df, where={"read_noise": 0.3}),
        lambda df: accuracy_heatmap(df.iloc[:0]),
        lambda df: accuracy_vs_retention(df, where={"model": "mlp", "v": 9.0}),
        lambda df: breakdown(df, df["status"] == "failed"),
    ],
)
def test_empty_data_raises(call) -> None:  # noqa: ANN001
    df = make_table(n_failed=3)
    with pytest.raises(ValueError, match=r"^\w+: no data to draw \(.*where|rows"):
        call(df)


def test_all_failed_raises_and_layer_errors() -> None:
    df = make_table()
    df["status"] = "failed"
    with pytest.raises(ValueError, match="accuracy_vs_energy: no data to draw.*failed"):
        accuracy_vs_energy(df)
    with pytest.raises(ValueError, match="layer_diagnostics: no data"):
        layer_diagnostics({})
    with pytest.raises(ValueError, match="lacks"):
        layer_diagnostics({"fc": {"snr_db": 3.0}})


def test_ambiguous_selection_names_other_axes() -> None:
    df = make_table()
    with pytest.raises(ValueError, match=r"also swept: \['adc_precision'\]"):
        accuracy_vs_retention(df, hue="sub_array", x="read_noise")


def test_layer_diagnostics_draws_a_lossless_layer_as_n_a(tmp_path: Path) -> None:
    """A layer without error has a null SNR in its result JSON (issue 20, item 7)."""
    layers = {**LAYERS, "net.5": {"adc_clip_rate": 0.0, "snr_db": None}}
    fig = layer_diagnostics(layers)
    ax_c, ax_s = _data_axes(fig)
    assert [b.get_height() for b in ax_s.containers[0]] == pytest.approx([24.5, 18.2, 0.0])
    assert [t.get_text() for t in ax_s.texts][-1] == "n/a"
    _check_written(fig, tmp_path, "lossless")


def test_a_figure_that_fails_to_render_keeps_the_previous_files(tmp_path: Path) -> None:
    pdf, png = tmp_path / "f.pdf", tmp_path / "f.png"
    pdf.write_bytes(b"old pdf")
    png.write_bytes(b"old png")
    fig = layer_diagnostics(LAYERS)
    real = fig.savefig

    def fail_on_png(fname, **kw):  # noqa: ANN001, ANN003, ANN202
        if kw.get("format") == "png":
            raise RuntimeError("renderer crashed")
        return real(fname, **kw)

    fig.savefig = fail_on_png  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="renderer crashed"):
        save_figure(fig, pdf, png)
    assert pdf.read_bytes() == b"old pdf" and png.read_bytes() == b"old png"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.pdf", "f.png"]
    plt.close(fig)

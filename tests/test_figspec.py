"""Which figures a sweep draws and which axes each pins."""

from __future__ import annotations

import pytest

from cimsweep.workflow.config import ConfigError, load
from cimsweep.workflow.figspec import diagnostics_point, figure_options, figures_to_draw

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


# --- the registry ---------------------------------------------------------------------------


def test_figspec_schema_exports_and_rules_derive_from_the_registry():
    import cimsweep.plots as plots
    from cimsweep.plots.catalog import FIGURES as SPECS
    from cimsweep.workflow.figspec import FIGURES, figures_schema

    assert FIGURES == tuple(SPECS) and len(FIGURES) == 8
    schema = figures_schema()["properties"]
    assert schema["draw"]["items"]["enum"] == list(SPECS)
    for name, spec in SPECS.items():
        assert set(schema[name]["properties"]) == set(spec.options)
        assert name in plots.__all__ and getattr(plots, name) is spec.load()
        assert callable(spec.load()) and spec.caption.strip()
    # every caption is its own (the report once gave two figures another one's caption)
    assert len({s.caption for s in SPECS.values()}) == len(SPECS)
    assert schema["breakdown"]["properties"]["max_rows"]["type"] == "integer"


def _constant_figure(df, *, where=None, label="x"):  # noqa: ANN001, ANN202
    """A new figure defined outside cimsweep.plots: the number of rows it was given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_title(f"{label}: {len(df)} rows, where={dict(where or {})}")
    return fig


def test_a_new_figure_is_one_declaration(monkeypatch, tmp_path):
    """Registering one FigureSpec makes it drawable, configurable, checked and exported."""
    import cimsweep.plots as plots
    from cimsweep.plots.catalog import FIGURES as SPECS
    from cimsweep.plots.catalog import FigureSpec
    from cimsweep.workflow.figspec import check_options, figures_schema

    spec = FigureSpec(
        "rows_per_noise",
        "tests.test_figspec:_constant_figure",
        options={"where": "where", "label": "axis", "x": "axis"},
        axes={"x": "read_noise"},
        needs_axis="read_noise",
        caption="Rows per read-noise level.",
    )
    monkeypatch.setitem(SPECS, spec.name, spec)
    sweep = load({"params": {"adc_precision": 4}, "grid": GRID})
    assert "rows_per_noise" in figures_to_draw({}, sweep)
    assert "rows_per_noise" not in figures_to_draw({}, load({"grid": {"adc_precision": [3, 4]}}))
    assert "rows_per_noise" in figures_schema()["properties"]
    # plotted axis free, the others pinned to their reference values
    assert figure_options(sweep, {}, "rows_per_noise")["where"] == {
        "training": "float",
        "adc_precision": 4,
    }
    with pytest.raises(ConfigError, match="rows_per_noise.label"):
        check_options({"rows_per_noise": {"label": "read_nosie"}})
    assert plots.rows_per_noise is _constant_figure


# --- options refused at plan time (issue 20, item 6) -----------------------------------------


@pytest.mark.parametrize(
    ("figures", "fragments"),
    [
        ({"accuracy_vs_adc": {"x": "adc_precison"}}, ["accuracy_vs_adc.x", "adc_precision"]),
        ({"accuracy_heatmap": {"panel": 3}}, ["accuracy_heatmap.panel", "parameter name"]),
        ({"accuracy_vs_energy": {"max_labels": "ten"}}, ["accuracy_vs_energy.max_labels"]),
        ({"breakdown": {"max_rows": 0}}, ["breakdown.max_rows", ">= 1"]),
        ({"accuracy_vs_energy": {"label_params": "t"}}, ["accuracy_vs_energy.label_params"]),
        ({"accuracy_vs_adc": {"where": [4]}}, ["accuracy_vs_adc.where", "mapping"]),
        ({"accuracy_vs_adc": {"wehre": {}}}, ["accuracy_vs_adc", "'wehre'", "'where'"]),
        ({"acuracy_vs_adc": {}}, ["acuracy_vs_adc", "did you mean 'accuracy_vs_adc'"]),
        ({"draw": ["breakdwn"]}, ["figures.draw", "breakdwn"]),
        ({"accuracy_vs_adc": {"where": {"read_nois": 0.2}}}, ["accuracy_vs_adc.where"]),
    ],
)
def test_bad_figure_option_types_and_names_are_refused(figures, fragments):
    from cimsweep.workflow.figspec import check_options

    with pytest.raises(ConfigError) as info:
        check_options(figures)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("name", "options", "fragments"),
    [
        ("accuracy_vs_adc", {"where": {"read_noise": 0.3}}, ["accuracy_vs_adc.where.read_noise"]),
        ("accuracy_vs_noise", {"where": {"adc_precision": [3, 5]}}, ["where.adc_precision", "5"]),
        ("accuracy_vs_energy", {"where": {"model": "resnet"}}, ["accuracy_vs_energy.where.model"]),
        ("accuracy_vs_adc", {"where": {"bitcell": 2}}, ["where.bitcell", "['1']"]),
        ("accuracy_vs_adc", {"where": {"adc_precision": "x"}}, ["where.adc_precision", "'x'"]),
    ],
)
def test_where_values_off_the_grid_are_refused(name, options, fragments):
    sweep = load({"grid": GRID})
    with pytest.raises(ConfigError) as info:
        figure_options(sweep, {name: options}, name)
    assert "not on the grid" in str(info.value) or "not a valid value" in str(info.value)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_where_values_on_the_grid_are_canonical():
    sweep = load({"grid": {**GRID, "sub_array": [64, [128, 256]]}})
    options = figure_options(
        sweep,
        {"accuracy_vs_energy": {"where": {"sub_array": 64, "read_noise": [0, 0.2]}}},
        "accuracy_vs_energy",
    )
    assert options == {"where": {"sub_array": "64x64", "read_noise": [0.0, 0.2]}}
    point = diagnostics_point(sweep, {"layer_diagnostics": {"point": {"sub_array": [128, 256]}}})
    assert point["sub_array"] == "128x256"
    with pytest.raises(ConfigError, match="layer_diagnostics.point.read_noise"):
        diagnostics_point(sweep, {"layer_diagnostics": {"point": {"read_noise": 0.3}}})


def test_the_workflow_refuses_a_bad_figure_option_before_planning(tmp_path):
    from tests.conftest import TINY_CONFIG, snakemake, write_config

    figures = {**TINY_CONFIG["figures"], "accuracy_vs_adc": {"where": {"read_noise": 0.3}}}
    write_config(tmp_path, {**TINY_CONFIG, "figures": figures})
    proc = snakemake(tmp_path, "--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "figures.accuracy_vs_adc.where.read_noise: 0.3 is not on the grid" in out
    assert "Job stats" not in out

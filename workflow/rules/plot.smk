# Figures: one job per figure of cimsweep.plots.catalog (its caption goes into the report).
# Outputs are update(): a failing figure job restores the previous figure instead of deleting it.
from cimsweep.plots.catalog import FIGURES as FIGURE_SPECS

# Every drawn figure's options, checked against the grid before any job is planned.
FIGURE_OPTIONS = {f: figure_options(SWEEP, FIGURE_CONFIG, f) for f in FIGURES}


rule plot_figure:
    input:
        table=TABLE_PARQUET,
    output:
        pdf=update(f"{RESULTS}/figures/{{figure}}.pdf"),
        png=update(
            report(
                f"{RESULTS}/figures/{{figure}}.png",
                caption="../report/figure.rst",
                category="Figures",
                labels={"figure": "{figure}"},
            )
        ),
    log:
        f"{RESULTS}/logs/plot/{{figure}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot/{{figure}}.tsv"
    wildcard_constraints:
        figure="|".join(f for f in FIGURES if FIGURE_SPECS[f].source == "table"),
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("plot"),
        runtime=runtime("plot"),
    params:
        options=lambda wildcards: FIGURE_OPTIONS[wildcards.figure],
        caption=lambda wildcards: FIGURE_SPECS[wildcards.figure].caption,
        code=CODE["plot"],
    script:
        "../scripts/plot_figure.py"


rule plot_layer_diagnostics:
    input:
        # the point's result file, or the marker of the chunk job writing it
        result=infer_result_input(diagnostics_point(SWEEP, FIGURE_CONFIG)),
    output:
        pdf=update(f"{RESULTS}/figures/layer_diagnostics.pdf"),
        png=update(
            report(
                f"{RESULTS}/figures/layer_diagnostics.png",
                caption="../report/figure.rst",
                category="Figures",
                labels={"figure": "layer_diagnostics"},
            )
        ),
    log:
        f"{RESULTS}/logs/plot/layer_diagnostics.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot/layer_diagnostics.tsv"
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("plot"),
        runtime=runtime("plot"),
    params:
        # the point's result file (the input may be its chunk's marker)
        result=lambda wildcards: SWEEP.result_path(
            "infer", diagnostics_point(SWEEP, FIGURE_CONFIG), RESULTS
        ),
        caption=FIGURE_SPECS["layer_diagnostics"].caption,
        code=CODE["plot"],
    script:
        "../scripts/plot_layer_diagnostics.py"

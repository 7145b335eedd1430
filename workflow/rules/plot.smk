rule plot_figure:
    input:
        table=TABLE_PARQUET,
    output:
        pdf=f"{RESULTS}/figures/{{figure}}.pdf",
        png=report(
            f"{RESULTS}/figures/{{figure}}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
    log:
        f"{RESULTS}/logs/plot/{{figure}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot/{{figure}}.tsv"
    wildcard_constraints:
        figure="|".join(f for f in FIGURES if f != "layer_diagnostics"),
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("plot"),
        runtime=runtime("plot"),
    params:
        options=lambda wildcards: figure_options(SWEEP, FIGURE_CONFIG, wildcards.figure),
        code=CODE["plot"],
    script:
        "../scripts/plot_figure.py"


rule plot_layer_diagnostics:
    input:
        result=SWEEP.result_path(
            "infer", diagnostics_point(SWEEP, FIGURE_CONFIG), RESULTS
        ),
    output:
        pdf=f"{RESULTS}/figures/layer_diagnostics.pdf",
        png=report(
            f"{RESULTS}/figures/layer_diagnostics.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "layer_diagnostics"},
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
        code=CODE["plot"],
    script:
        "../scripts/plot_layer_diagnostics.py"

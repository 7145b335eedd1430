rule aggregate:
    input:
        # per-point result files, or the markers of the chunk jobs writing them
        points=aggregate_inputs(),
    output:
        # update(): a failing aggregate restores the previous table instead of deleting it
        csv=report(update(TABLE_CSV), caption="../report/table.rst", category="Table"),
        parquet=update(TABLE_PARQUET),
    log:
        f"{RESULTS}/logs/aggregate.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate.tsv"
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("aggregate"),
        runtime=runtime("aggregate"),
    params:
        # the results folder, from the table's path (<root>/tables/sweep.csv)
        root=lambda wildcards, output: str(Path(output.csv).parent.parent),
        chunked=any(CHUNKS.values()),
        code=CODE["aggregate"],
    script:
        "../scripts/aggregate.py"


rule sweep_config:
    output:
        report(SWEEP_CONFIG, caption="../report/config.rst", category="Configuration"),
    log:
        f"{RESULTS}/logs/sweep_config.log",
    benchmark:
        f"{RESULTS}/benchmarks/sweep_config.tsv"
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("sweep_config"),
        runtime=runtime("sweep_config"),
    params:
        config=config,
        code=CODE["sweep_config"],
    script:
        "../scripts/sweep_config.py"

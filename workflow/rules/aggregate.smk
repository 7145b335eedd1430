rule aggregate:
    input:
        points=[path for pair in SWEEP.point_paths(RESULTS) for path in pair],
    output:
        csv=TABLE_CSV,
        parquet=TABLE_PARQUET,
    log:
        f"{RESULTS}/logs/aggregate.log",
    benchmark:
        f"{RESULTS}/benchmarks/aggregate.tsv"
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("aggregate"),
        runtime=runtime("aggregate"),
    script:
        "../scripts/aggregate.py"

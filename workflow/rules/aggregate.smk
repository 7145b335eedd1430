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
    script:
        "../scripts/aggregate.py"

rule plot_accuracy_vs_energy:
    input:
        table=TABLE_PARQUET,
    output:
        pdf=f"{RESULTS}/figures/accuracy_vs_energy.pdf",
        png=f"{RESULTS}/figures/accuracy_vs_energy.png",
    log:
        f"{RESULTS}/logs/plot_accuracy_vs_energy.log",
    benchmark:
        f"{RESULTS}/benchmarks/plot_accuracy_vs_energy.tsv"
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("plot"),
        runtime=runtime("plot"),
    script:
        "../scripts/plot_accuracy_vs_energy.py"

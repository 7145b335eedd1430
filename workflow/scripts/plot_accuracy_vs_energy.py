from cimsweep.steps import plot_accuracy_vs_energy, setup_logging

setup_logging(snakemake.log[0])
plot_accuracy_vs_energy(snakemake.input.table, snakemake.output.pdf, snakemake.output.png)

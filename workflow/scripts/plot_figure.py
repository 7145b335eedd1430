from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import plot_table_figure, setup_logging

setup_logging(snakemake.log[0])
activate("plot")
plot_table_figure(
    snakemake.wildcards.figure,
    snakemake.input.table,
    snakemake.output.pdf,
    snakemake.output.png,
    snakemake.params.options,
)

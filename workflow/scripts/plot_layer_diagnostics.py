from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import plot_layer_diagnostics, setup_logging

setup_logging(snakemake.log[0])
activate("plot")
plot_layer_diagnostics(snakemake.params.result, snakemake.output.pdf, snakemake.output.png)

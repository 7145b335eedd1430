from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import setup_logging, write_sweep_config

setup_logging(snakemake.log[0])
activate("sweep_config")
write_sweep_config(snakemake.params.config, snakemake.output[0])

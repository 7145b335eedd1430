from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import prepare_data, runtime_settings, setup_logging

setup_logging(snakemake.log[0])
activate("data")
runtime = runtime_settings(snakemake.config)
prepare_data(snakemake.output.split, snakemake.params.values, runtime["data_dir"])

from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import geometry, runtime_settings, setup_logging

setup_logging(snakemake.log[0])
activate("geometry")
runtime = runtime_settings(snakemake.config)
geometry(snakemake.output[0], snakemake.params.values, runtime["data_dir"])

from cimsweep.steps import geometry, setup_logging

setup_logging(snakemake.log[0])
geometry(snakemake.output[0], snakemake.params.values)

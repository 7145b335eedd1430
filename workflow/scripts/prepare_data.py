from cimsweep.steps import prepare_data, setup_logging

setup_logging(snakemake.log[0])
prepare_data(snakemake.output.split, snakemake.params.values)

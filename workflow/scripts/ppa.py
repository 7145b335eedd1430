from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import ppa, setup_logging

setup_logging(snakemake.log[0])
activate("ppa")
ppa(
    snakemake.input.geometry,
    snakemake.input.tech,
    snakemake.output.result,
    snakemake.params.values,
    split_npz=snakemake.input.get("split"),
    model_pt=snakemake.input.get("model"),
)

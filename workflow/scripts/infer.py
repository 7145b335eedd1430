import torch

from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import infer, setup_logging

setup_logging(snakemake.log[0])
activate("infer")
torch.set_num_threads(snakemake.threads)
infer(
    snakemake.input.split,
    snakemake.input.model,
    snakemake.input.metrics,
    snakemake.input.ranges,
    snakemake.output.result,
    snakemake.params.values,
)

import torch

from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import runtime_settings, setup_logging, train

setup_logging(snakemake.log[0])
activate("train")
torch.set_num_threads(snakemake.threads)
runtime = runtime_settings(snakemake.config)
train(
    snakemake.input.split,
    snakemake.output.model,
    snakemake.output.metrics,
    snakemake.params.values,
    device=runtime["device"],
    data_dir=runtime["data_dir"],
)

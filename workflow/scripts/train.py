import torch

from cimsweep.steps import setup_logging, train

setup_logging(snakemake.log[0])
torch.set_num_threads(snakemake.threads)
train(
    snakemake.input.split, snakemake.output.model, snakemake.output.metrics, snakemake.params.values
)

import torch

from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import calibrate, setup_logging

setup_logging(snakemake.log[0])
activate("calib")
torch.set_num_threads(snakemake.threads)
calibrate(
    snakemake.input.split, snakemake.input.model, snakemake.output.ranges, snakemake.params.values
)

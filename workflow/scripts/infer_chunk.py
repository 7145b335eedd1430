import torch

from cimsweep.workflow.chunkrun import run_chunk
from cimsweep.workflow.chunks import members_of
from cimsweep.workflow.config import load
from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import infer, setup_logging

setup_logging(snakemake.log[0])
activate("infer")
torch.set_num_threads(snakemake.threads)
inp = snakemake.input
run_chunk(
    "infer",
    members_of(load(snakemake.config), "infer", snakemake.params.points, snakemake.params.root),
    [inp.split, inp.model, inp.metrics, inp.ranges, *inp.device_files],
    snakemake.output[0],
    lambda path, values: infer(inp.split, inp.model, inp.metrics, inp.ranges, path, values),
)

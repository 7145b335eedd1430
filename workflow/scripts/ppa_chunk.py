from cimsweep.workflow.chunkrun import run_chunk
from cimsweep.workflow.chunks import members_of
from cimsweep.workflow.config import load
from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import ppa, setup_logging, tech_file

setup_logging(snakemake.log[0])
activate("ppa")
inp = snakemake.input
run_chunk(
    "ppa",
    members_of(load(snakemake.config), "ppa", snakemake.params.points, snakemake.params.root),
    [inp.geometry, *inp.tech],
    snakemake.output[0],
    lambda path, values: ppa(
        inp.geometry, tech_file(snakemake.params.tech_dir, values["tech_node"]), path, values
    ),
)

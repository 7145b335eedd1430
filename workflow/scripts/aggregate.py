from cimsweep.workflow.chunks import owners
from cimsweep.workflow.config import load
from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import aggregate, setup_logging

setup_logging(snakemake.log[0])
activate("aggregate")
sweep = load(snakemake.config)
points = sweep.points()
root = snakemake.params.root
aggregate(
    sweep.point_paths(root),
    snakemake.output.csv,
    snakemake.output.parquet,
    points=points,
    expected=[sweep.point_values(p) for p in points],
    owners=owners(sweep, root) if snakemake.params.chunked else None,
)

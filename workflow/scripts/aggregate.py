from cimsweep.workflow.config import load
from cimsweep.workflow.provenance import activate
from cimsweep.workflow.steps import aggregate, setup_logging

setup_logging(snakemake.log[0])
activate("aggregate")
paths = list(snakemake.input.points)
sweep = load(snakemake.config)
points = sweep.points()
aggregate(
    list(zip(paths[0::2], paths[1::2], strict=True)),
    snakemake.output.csv,
    snakemake.output.parquet,
    points=points,
    expected=[sweep.point_values(p) for p in points],
)

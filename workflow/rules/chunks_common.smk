# Helpers of the chunk rules (chunks.smk). Chunk jobs (cimsweep.workflow.chunks): above params.points_per_job, the inference points
# sharing one trained model and calibration, and the PPA points of one model, run as chunk jobs
# writing the same per-point result files (each atomically; up-to-date ones are skipped) and a
# marker, the chunk job's only tracked output. The per-point rules stay for everything else
# that asks for one point's file (the adaptive search, --forcerun of one file).
import sys

from cimsweep.workflow import chunks

# The search plans its own points (per-point jobs); a grid is planned in chunks.
CHUNKS = {
    stage: (
        chunks.plan(SWEEP, stage, RESULTS) if config.get("search") is None else None
    )
    for stage in chunks.CHUNKED_STAGES
}
for _stage, _plan in CHUNKS.items():
    if _plan:
        print(
            f"cimsweep: {_stage} runs in {len(_plan):,} chunk jobs (params.points_per_job)",
            file=sys.stderr,
        )
# Runtime (min) a chunk job asks for per point (at least one per-point job's), by attempt.
CHUNK_RUNTIME_PER_POINT = {"infer": 5, "ppa": 1}
# Everything a stage's points read besides their own path tokens: a change reruns the chunks.
CHUNK_SETTINGS = {
    stage: chunks.settings(SWEEP, stage) for stage in chunks.CHUNKED_STAGES
}


def chunk_root(wildcards, output):
    """The results folder, from a chunk marker's path (``<root>/chunks/...``)."""
    return output[0].split("/chunks/", 1)[0]


def chunk_points(stage):
    """Params function: path tokens of every point of the chunk."""
    return lambda wildcards: CHUNKS[stage].members(wildcards)


def chunk_runtime(stage):
    """Runtime (min) of a chunk job: per point, at least one per-point job's, by attempt."""

    def runtime_min(wildcards, attempt):
        n = len(CHUNKS[stage].members(wildcards))
        per_point = CHUNK_RUNTIME_PER_POINT[stage] * n
        return max(BASE_RESOURCES[stage]["runtime"], per_point) * attempt

    return runtime_min


def chunk_device_files(wildcards):
    """Measured device profiles the chunk's inference points read."""
    files = set()
    for point in CHUNKS["infer"].members(wildcards):
        files.update(device_files(point))
    return sorted(files)


def chunk_infer_mem_mb(wildcards, input, attempt):
    """Inference memory (MB): the largest chip any of the chunk's points programs."""
    return max(
        infer_mem_mb(point, input, attempt)
        for point in CHUNKS["infer"].members(wildcards)
    )


def chunk_tech_files(wildcards):
    """Technology files of the chunk's PPA points' nodes."""
    return sorted({tech_path(point) for point in CHUNKS["ppa"].members(wildcards)})


def aggregate_inputs():
    """Every grid point's (inference, PPA) result file, or the marker of the chunk writing it."""
    if not any(CHUNKS.values()):
        return [path for pair in SWEEP.point_paths(RESULTS) for path in pair]
    out = []
    for stage in chunks.CHUNKED_STAGES:
        plan = CHUNKS[stage]
        out += plan.markers() if plan else SWEEP.expand(stage, root=RESULTS)
    return out


def infer_result_input(point):
    """A point's inference result file, or the marker of the chunk writing it."""
    if CHUNKS["infer"]:
        return CHUNKS["infer"].owner(SWEEP.fill(point))
    return SWEEP.result_path("infer", point, RESULTS)

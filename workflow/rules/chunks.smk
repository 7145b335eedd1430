# Chunk jobs: one job per chunk of grid points (helpers and the plan in chunks_common.smk).
if CHUNKS["infer"]:

    rule infer_chunk:
        input:
            split=stage_path("data", "split.npz"),
            model=stage_path("train", "model.pt"),
            metrics=stage_path("train", "metrics.json"),
            ranges=stage_path("calib", "ranges.json"),
            device_files=(chunk_device_files if DEVICE_FILES else []),
        output:
            chunks.marker_pattern(SWEEP, "infer", RESULTS),
        log:
            f"{RESULTS}/logs/chunks/{chunks.parent_dir(SWEEP, 'infer')}/infer-{{chunk}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/chunks/{chunks.parent_dir(SWEEP, 'infer')}/infer-{{chunk}}.tsv"
        wildcard_constraints:
            chunk=chunks.CHUNK_PATTERN,
        conda:
            "../envs/cimsweep.yaml"
        resources:
            mem_mb=chunk_infer_mem_mb,
            runtime=chunk_runtime("infer"),
        params:
            points=chunk_points("infer"),
            settings=CHUNK_SETTINGS["infer"],
            root=chunk_root,
            code=CODE["infer"],
        script:
            "../scripts/infer_chunk.py"


if CHUNKS["ppa"]:

    rule ppa_chunk:
        input:
            geometry=f"{RESULTS}/{{dataset}}/geometry/{{model}}.json",
            tech=chunk_tech_files,
        output:
            chunks.marker_pattern(SWEEP, "ppa", RESULTS),
        log:
            f"{RESULTS}/logs/chunks/{chunks.parent_dir(SWEEP, 'ppa')}/ppa-{{chunk}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/chunks/{chunks.parent_dir(SWEEP, 'ppa')}/ppa-{{chunk}}.tsv"
        wildcard_constraints:
            chunk=chunks.CHUNK_PATTERN,
        conda:
            "../envs/cimsweep.yaml"
        resources:
            mem_mb=mem_mb("ppa"),
            runtime=chunk_runtime("ppa"),
        params:
            points=chunk_points("ppa"),
            settings=CHUNK_SETTINGS["ppa"],
            root=chunk_root,
            tech_dir=TECH_DIR,
            code=CODE["ppa"],
        script:
            "../scripts/ppa_chunk.py"

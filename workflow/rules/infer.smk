rule infer:
    input:
        split=stage_path("data", "split.npz"),
        model=stage_path("train", "model.pt"),
        metrics=stage_path("train", "metrics.json"),
        ranges=stage_path("calib", "ranges.json"),
        device_files=DEVICE_FILES,
    output:
        result=stage_path("infer", "accuracy.json"),
    log:
        stage_log("infer", "infer"),
    benchmark:
        stage_benchmark("infer", "infer")
    group:
        "grid"
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=infer_mem_mb,
        runtime=runtime("infer"),
    params:
        values=stage_values("infer"),
        code=CODE["infer"],
    script:
        "../scripts/infer.py"

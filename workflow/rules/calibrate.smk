rule calibrate:
    input:
        split=stage_path("data", "split.npz"),
        model=stage_path("train", "model.pt"),
    output:
        ranges=stage_path("calib", "ranges.json"),
    log:
        stage_log("calib", "calibrate"),
    benchmark:
        stage_benchmark("calib", "calibrate")
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("calibrate"),
        runtime=runtime("calibrate"),
    params:
        values=stage_values("calib"),
        code=CODE["calib"],
    script:
        "../scripts/calibrate.py"

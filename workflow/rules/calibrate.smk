rule calibrate:
    input:
        split=stage_path("data", "split.npz"),
        model=stage_path("train", "model.pt"),
    output:
        ranges=stage_path("calib", "ranges.json"),
    params:
        values=stage_values("calib"),
    log:
        stage_log("calib", "calibrate"),
    benchmark:
        stage_benchmark("calib", "calibrate")
    script:
        "../scripts/calibrate.py"

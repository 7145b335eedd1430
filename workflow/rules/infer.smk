rule infer:
    input:
        split=stage_path("data", "split.npz"),
        model=stage_path("train", "model.pt"),
        metrics=stage_path("train", "metrics.json"),
        ranges=stage_path("calib", "ranges.json"),
    output:
        result=stage_path("infer", "accuracy.json"),
    params:
        values=stage_values("infer"),
    log:
        stage_log("infer", "infer"),
    benchmark:
        stage_benchmark("infer", "infer")
    script:
        "../scripts/infer.py"

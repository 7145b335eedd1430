rule prepare_data:
    output:
        split=stage_path("data", "split.npz"),
    params:
        values=stage_values("data"),
    log:
        stage_log("data", "prepare_data"),
    benchmark:
        stage_benchmark("data", "prepare_data")
    script:
        "../scripts/prepare_data.py"

rule prepare_data:
    output:
        split=stage_path("data", "split.npz"),
    log:
        stage_log("data", "prepare_data"),
    benchmark:
        stage_benchmark("data", "prepare_data")
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("prepare_data"),
        runtime=runtime("prepare_data"),
    params:
        values=stage_values("data"),
        code=CODE["data"],
    script:
        "../scripts/prepare_data.py"

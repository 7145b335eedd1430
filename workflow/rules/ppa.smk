rule ppa:
    input:
        unpack(ppa_inputs),
    output:
        result=stage_path("ppa", "ppa.json"),
    log:
        stage_log("ppa", "ppa"),
    benchmark:
        stage_benchmark("ppa", "ppa")
    group:
        "grid"
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=ppa_mem_mb,
        runtime=ppa_runtime,
    params:
        values=stage_values("ppa"),
        code=CODE["ppa"],
    script:
        "../scripts/ppa.py"

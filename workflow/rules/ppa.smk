rule ppa:
    input:
        geometry=f"{RESULTS}/{{dataset}}/geometry/{{model}}.json",
        tech=tech_path,
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
        mem_mb=mem_mb("ppa"),
        runtime=runtime("ppa"),
    params:
        values=stage_values("ppa"),
        code=CODE["ppa"],
    script:
        "../scripts/ppa.py"

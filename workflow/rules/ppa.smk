rule ppa:
    input:
        geometry=f"{RESULTS}/{{dataset}}/geometry/{{model}}.json",
        tech=tech_path,
    output:
        result=stage_path("ppa", "ppa.json"),
    params:
        values=stage_values("ppa"),
    log:
        stage_log("ppa", "ppa"),
    benchmark:
        stage_benchmark("ppa", "ppa")
    script:
        "../scripts/ppa.py"

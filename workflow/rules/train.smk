rule train:
    input:
        split=stage_path("data", "split.npz"),
    output:
        model=stage_path("train", "model.pt"),
        metrics=stage_path("train", "metrics.json"),
    log:
        stage_log("train", "train"),
    benchmark:
        stage_benchmark("train", "train")
    conda:
        "../envs/cimsweep.yaml"
    threads: 2
    resources:
        mem_mb=mem_mb("train"),
        runtime=runtime("train"),
    params:
        values=stage_values("train"),
    script:
        "../scripts/train.py"


rule model_geometry:
    output:
        f"{RESULTS}/{{dataset}}/geometry/{{model}}.json",
    log:
        f"{RESULTS}/logs/{{dataset}}/geometry/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/geometry/{{model}}.tsv"
    conda:
        "../envs/cimsweep.yaml"
    resources:
        mem_mb=mem_mb("model_geometry"),
        runtime=runtime("model_geometry"),
    params:
        values=lambda wc: {"dataset": wc.dataset, "model": wc.model},
    script:
        "../scripts/geometry.py"

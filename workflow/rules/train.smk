rule train:
    input:
        split=stage_path("data", "split.npz"),
    output:
        model=stage_path("train", "model.pt"),
        metrics=stage_path("train", "metrics.json"),
    params:
        values=stage_values("train"),
    threads: 2
    log:
        stage_log("train", "train"),
    benchmark:
        stage_benchmark("train", "train")
    script:
        "../scripts/train.py"


rule model_geometry:
    output:
        f"{RESULTS}/{{dataset}}/geometry/{{model}}.json",
    params:
        values=lambda wc: {"dataset": wc.dataset, "model": wc.model},
    log:
        f"{RESULTS}/logs/{{dataset}}/geometry/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/{{dataset}}/geometry/{{model}}.tsv"
    script:
        "../scripts/geometry.py"

rule train:
    input:
        split=stage_path("data", "split.npz"),
        user_model=user_model_files,
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
        code=CODE["train"],
    script:
        "../scripts/train.py"


rule model_geometry:
    input:
        user_model=user_model_files,
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
        # One geometry per data set and model: the scalar image size (image folders) and
        # user model settings complete the path's values.
        values=lambda wc: {
            **{
                n: SWEEP.values[n]
                for n in (
                    "image_size",
                    "user_model",
                    "user_checkpoint",
                    "user_model_kwargs",
                )
            },
            "dataset": wc.dataset,
            "model": wc.model,
        },
        code=CODE["geometry"],
    script:
        "../scripts/geometry.py"

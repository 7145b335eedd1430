# cimsweep: accuracy and energy of analog compute-in-memory accelerators over a design grid.
# `snakemake --profile profiles/default` runs config/config.yaml; `--configfile other.yaml`
# replaces it (the default config is then not read).


if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/calibrate.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/ppa.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/plot.smk"


rule all:
    input:
        TABLE_CSV,
        TABLE_PARQUET,
        FIGURES,
    default_target: True

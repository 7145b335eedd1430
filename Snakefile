# cimsweep: accuracy and energy of analog compute-in-memory accelerators over a design grid.
# `snakemake --profile profiles/default` runs config/config.yaml; `--configfile other.yaml`
# replaces it (the default config is then not read).


if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"


# Every grid value is one path component.
wildcard_constraints:
    **{name: "[^/]+" for name in PARAMS},


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/calibrate.smk"
include: "workflow/rules/infer.smk"
include: "workflow/rules/ppa.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/plot.smk"
include: "workflow/rules/search.smk"


rule all:
    default_target: True
    input:
        TABLE_CSV,
        TABLE_PARQUET,
        FIGURE_FILES,
        SWEEP_CONFIG,

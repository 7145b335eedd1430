"""The workflow layer: parameter declarations, config loading and checks, figure selection,
the generated schema and the per-stage steps the Snakemake scripts call."""

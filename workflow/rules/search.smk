# Adaptive multi-objective search (docs/search.md), with a `search:` config section:
#   snakemake --profile profiles/default --configfile config/sweeps/search_digits.yaml search
# Each round is a checkpoint that asks the Optuna sampler for a batch of points; the round's
# tell step needs their inference and PPA results, built by the ordinary rules at the same
# paths a grid uses (bundled in the "grid" group on Slurm). Ask and tell run on the main host.
if config.get("search") is not None:

    from cimsweep.search import figures as search_figures
    from cimsweep.search import prune as search_prune
    from cimsweep.search import rounds as search_rounds
    from cimsweep.search.spec import parse as parse_search

    SEARCH = parse_search(config["search"])
    SEARCH_DIR = search_rounds.search_dir(RESULTS)
    SEARCH_ROUNDS = search_rounds.planned_rounds(SEARCH, RESULTS)
    SEARCH_TABLE = f"{SEARCH_DIR}/evaluated.csv"
    SEARCH_FRONT = f"{SEARCH_DIR}/front.csv"
    SEARCH_FIGURES = expand(
        f"{SEARCH_DIR}/figures/{{figure}}.{{ext}}",
        figure=search_figures.FIGURES,
        ext=["pdf", "png"],
    )

    rule search_prune:
        # search.prune_with_ppa: the PPA of the whole space, in-process at the ppa rule's
        # result paths (far cheaper than one job per point), then the points that can reach
        # the front
        output:
            search_rounds.pruned_path(RESULTS),
        log:
            f"{RESULTS}/logs/search/prune.log",
        localrule: True
        run:
            search_prune.prune(SEARCH, SWEEP, RESULTS, TECH_DIR, output[0])

    checkpoint search_ask:
        input:
            # a round asks once the sampler knows the previous round's results (and the
            # pruned space, with search.prune_with_ppa)
            lambda wc: search_rounds.ask_inputs(SEARCH, int(wc.round), RESULTS),
        output:
            f"{SEARCH_DIR}/round_{{round}}/proposals.json",
        log:
            f"{RESULTS}/logs/search/round_{{round}}/ask.log",
        wildcard_constraints:
            round=r"\d{3}",
        localrule: True
        run:
            search_rounds.ask(SEARCH, SWEEP, int(wildcards.round), output[0], RESULTS)

    rule search_tell:
        input:
            proposals=f"{SEARCH_DIR}/round_{{round}}/proposals.json",
            # the round's points' inference and PPA results, built by the usual rules
            results=lambda wc: search_rounds.result_files(
                checkpoints.search_ask.get(round=wc.round).output[0]
            ),
        output:
            f"{SEARCH_DIR}/round_{{round}}/told.json",
        log:
            f"{RESULTS}/logs/search/round_{{round}}/tell.log",
        wildcard_constraints:
            round=r"\d{3}",
        localrule: True
        run:
            search_rounds.tell(
                SEARCH, int(wildcards.round), input.proposals, output[0], RESULTS
            )

    rule search_summary:
        input:
            search_rounds.told_path(SEARCH_ROUNDS - 1, RESULTS),
        output:
            csv=SEARCH_TABLE,
            parquet=f"{SEARCH_DIR}/evaluated.parquet",
            front=SEARCH_FRONT,
            summary=f"{SEARCH_DIR}/summary.json",
        log:
            f"{RESULTS}/logs/search/summary.log",
        localrule: True
        run:
            search_rounds.summarise(SEARCH, SEARCH_ROUNDS, RESULTS, dict(output))

    rule search_figure:
        input:
            parquet=f"{SEARCH_DIR}/evaluated.parquet",
            summary=f"{SEARCH_DIR}/summary.json",
        output:
            pdf=f"{SEARCH_DIR}/figures/{{figure}}.pdf",
            png=f"{SEARCH_DIR}/figures/{{figure}}.png",
        log:
            f"{RESULTS}/logs/search/{{figure}}.log",
        wildcard_constraints:
            figure="|".join(search_figures.FIGURES),
        localrule: True
        run:
            search_figures.draw(
                wildcards.figure,
                input.parquet,
                input.summary,
                SEARCH.objectives,
                output.pdf,
                output.png,
            )

    rule search:
        input:
            SEARCH_TABLE,
            SEARCH_FRONT,
            SEARCH_FIGURES,

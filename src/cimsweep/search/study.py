"""The Optuna study behind a search: samplers, distributions, ask a round, tell it.

State lives in an Optuna journal file (``results/search/study.journal``), so a search that is
killed resumes where it stopped and a finished one can be extended with more budget. Each
round's sampler is seeded from ``search.seed`` and the round number, so the proposals are a
function of the seed and the evaluated history only (a resumed search proposes what an
uninterrupted one would have).

A list axis of numbers (or subarray shapes) is searched as an ordered index into the list, a
list of names as a categorical; a range keeps its bounds, step and log scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cimsweep.search import prune
from cimsweep.search.spec import Axis, SearchSpec
from cimsweep.workflow.config import derive_seed
from cimsweep.workflow.params import PARAMS, canonical, token

STUDY_NAME = "cimsweep-search"
# Proposals a round may draw before it gives up looking for points not yet evaluated.
MAX_DRAWS_PER_POINT = 40


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            "the search needs Optuna: pip install 'cimsweep[search]' (or pip install optuna)"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _ordinal(axis: Axis) -> bool:
    return PARAMS[axis.name].kind in ("int", "float", "shape")


def distributions(spec: SearchSpec) -> dict[str, Any]:
    """Optuna distribution of each axis."""
    optuna = _optuna()
    dists: dict[str, Any] = {}
    for a in spec.axes:
        if a.choices and _ordinal(a):
            dists[a.name] = optuna.distributions.IntDistribution(0, len(a.choices) - 1)
        elif a.choices:
            dists[a.name] = optuna.distributions.CategoricalDistribution(list(a.choices))
        elif PARAMS[a.name].kind == "int":
            assert a.low is not None and a.high is not None
            dists[a.name] = optuna.distributions.IntDistribution(
                int(a.low), int(a.high), log=a.log, step=int(a.step or 1)
            )
        else:
            dists[a.name] = optuna.distributions.FloatDistribution(
                a.low, a.high, log=a.log, step=a.step
            )
    return dists


def point_of(spec: SearchSpec, params: Mapping[str, Any]) -> dict[str, str]:
    """Path tokens of the point an Optuna trial's parameters stand for."""
    out: dict[str, str] = {}
    for a in spec.axes:
        raw = params[a.name]
        value = a.choices[int(raw)] if a.choices and _ordinal(a) else raw
        out[a.name] = token(a.name, canonical(a.name, value))
    return out


def point_key(point: Mapping[str, str]) -> str:
    """One string naming a point (its tokens in axis order)."""
    return ",".join(f"{k}={v}" for k, v in point.items())


def make_sampler(spec: SearchSpec, round_index: int) -> Any:
    """The configured sampler, seeded for this round."""
    optuna = _optuna()
    seed = derive_seed(spec.seed, "search", round_index)
    if spec.sampler == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=max(spec.batch, 2), seed=seed)
    if spec.sampler == "nsga3":
        return optuna.samplers.NSGAIIISampler(population_size=max(spec.batch, 2), seed=seed)
    if spec.sampler == "tpe":
        return optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            constant_liar=True,
            n_startup_trials=min(spec.batch, 10),
        )
    if spec.sampler == "gp":
        return optuna.samplers.GPSampler(seed=seed, n_startup_trials=min(spec.batch, 10))
    return optuna.samplers.RandomSampler(seed=seed)


def storage(path: str | Path) -> Any:
    """Optuna journal storage in a file (created with its folder).

    Its writes are buffered (:mod:`cimsweep.search.journal`): :func:`ask_round` and
    :func:`tell_round` write a round's changes at once, so a kill mid-round leaves the journal
    as it was before the round.
    """
    _optuna()
    from cimsweep.search import journal

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return journal.buffered_storage(str(path))


def _flush(store: Any) -> None:
    """Write what a round changed in a journal storage (one append, one fsync)."""
    from cimsweep.search import journal

    journal.flush(store)


def open_study(spec: SearchSpec, store: Any, round_index: int) -> Any:
    """The search's study (created on first use), with this round's sampler."""
    optuna = _optuna()
    directions = ["maximize" if d == "max" else "minimize" for d in spec.objectives.values()]
    return optuna.create_study(
        storage=store,
        study_name=STUDY_NAME,
        directions=directions,
        sampler=make_sampler(spec, round_index),
        load_if_exists=True,
    )


def _finished(study: Any) -> dict[str, Any]:
    """Point key -> a finished trial holding its result (complete or failed)."""
    optuna = _optuna()
    done: dict[str, Any] = {}
    for t in study.get_trials(deepcopy=False):
        if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL):
            key = t.user_attrs.get("point_key")
            if key and t.user_attrs.get("repeat_of_trial") is None:
                done.setdefault(key, t)
    return done


def _hold_repeat(trial: Any, source: Any | None) -> None:
    """Mark a proposal of a point already evaluated (``source``) or already proposed in this
    round (None). It stays running until the round is asked: the TPE sampler's constant liar
    counts it as a bad result, which steers the round's next proposals away from it; then it
    is told failed, so that the history the sampler fits holds each point once (copies told
    the earlier values made it fit ever more trials and propose ever more repeats)."""
    if source is None:
        trial.set_user_attr("repeat_of_trial", -1)
        return
    for k, v in source.user_attrs.items():
        if k not in ("round", "point", "point_key"):
            trial.set_user_attr(k, v)
    trial.set_user_attr("repeat_of_trial", source.number)


def ask_round(
    spec: SearchSpec,
    store: Any,
    round_index: int,
    n: int,
    kept: Mapping[str, list[dict[str, str]]] | None = None,
) -> list[dict[str, Any]]:
    """Up to ``n`` new distinct points for a round: ``[{trial, point}]``.

    A proposal of a point already evaluated (or proposed earlier in the round) is not run
    and does not count (:func:`_hold_repeat`);
    a round asked before (its trials hold ``round``) returns the same trials again. ``kept``
    (a pruned space, :func:`cimsweep.search.prune.load_kept`): a proposal outside it stands
    for the nearest kept point of its accuracy class (:func:`cimsweep.search.prune.repair`).
    """
    study = open_study(spec, store, round_index)
    mine = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("round") == round_index]
    fresh = [t for t in mine if t.user_attrs.get("repeat_of_trial") is None]
    out = [{"trial": t.number, "point": t.user_attrs["point"]} for t in fresh]
    if len(out) >= n or study.user_attrs.get(f"round_{round_index}_complete"):
        return out  # asked before: the same trials again
    done = _finished(study)
    dists = distributions(spec)
    seen = {t.user_attrs["point_key"] for t in fresh}
    draws = len(mine)
    size = spec.space_size() if kept is None else sum(len(v) for v in kept.values())
    held: list[Any] = []
    while len(out) < n and draws < MAX_DRAWS_PER_POINT * n and len(done) + len(seen) < size:
        draws += 1
        trial = study.ask(dists)
        point = point_of(spec, trial.params)
        if kept is not None:
            repaired = prune.repair(spec, point, kept)
            if repaired is None:  # its accuracy class is infeasible in PPA: nothing to run
                trial.set_user_attr("repeat_of_trial", -2)
                study.tell(trial, state=_optuna().trial.TrialState.FAIL)
                continue
            if repaired != point:
                trial.set_user_attr("proposed", point)
            point = repaired
        key = point_key(point)
        trial.set_user_attr("round", round_index)
        trial.set_user_attr("point", point)
        trial.set_user_attr("point_key", key)
        if key in done or key in seen:  # nothing to run: its result is known or coming
            _hold_repeat(trial, done.get(key))
            held.append(trial)
            continue
        seen.add(key)
        out.append({"trial": trial.number, "point": point})
    for trial in held:
        study.tell(trial, state=_optuna().trial.TrialState.FAIL)
    # even short (an exhausted space): a later ask of this round returns these, draws no more
    study.set_user_attr(f"round_{round_index}_complete", True)
    _flush(store)
    return out


def objective_values(spec: SearchSpec, row: Mapping[str, Any]) -> list[float] | None:
    """The objectives of one table row, or None when the point failed or has a NaN."""
    if row.get("status", "ok") != "ok":
        return None
    values = [float(row[c]) for c in spec.objectives]
    return values if all(math.isfinite(v) for v in values) else None


def tell_round(
    spec: SearchSpec, store: Any, round_index: int, rows: Mapping[int, Mapping[str, Any]]
) -> None:
    """Tell each of a round's trials (by number) its table row; trials told before are kept."""
    optuna = _optuna()
    study = open_study(spec, store, round_index)
    for number, row in rows.items():
        trial = study.get_trials(deepcopy=False)[number]
        if trial.state != optuna.trial.TrialState.RUNNING:
            continue  # told before an interruption
        values = objective_values(spec, row)
        live = optuna.trial.Trial(study, trial._trial_id)
        for c in spec.constraints:
            live.set_constraint(str(c), c.violation(float(row.get(c.column, math.nan))))
        for column in spec.objectives:
            live.set_user_attr(column, float(row.get(column, math.nan)))
        if values is None:
            study.tell(number, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(number, values)
    _flush(store)

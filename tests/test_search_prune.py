"""PPA pruning of a search space (soundness against the brute-force front, repair of proposals,
config checks) and the buffered journal (nothing written before a flush, same proposals)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

optuna = pytest.importorskip("optuna")

from cimsweep.search import front, prune, study  # noqa: E402
from cimsweep.search.journal import BufferedJournalBackend  # noqa: E402
from cimsweep.search.spec import parse  # noqa: E402
from cimsweep.workflow.config import ConfigError, load  # noqa: E402

SPACE: dict[str, Any] = {
    "adc_precision": [3, 5, 8],
    "read_noise": [0.0, 0.1],
    "tech_node": [65, 45, 22],
    "adc_type": ["sar", "flash"],
}


def _spec(**over: Any) -> Any:
    body = {
        "objectives": {"accuracy_mean": "max", "energy_J": "min", "area_mm2": "min"},
        "space": SPACE,
        "budget": 8,
        "batch": 4,
        "prune_with_ppa": True,
        **over,
    }
    return parse(body)


def _synthetic(spec: Any, seed: int = 0) -> pd.DataFrame:
    """A full table: accuracy set by the accuracy class, PPA random per point."""
    rng = np.random.default_rng(seed)
    points = prune.space_points(spec)
    keys = [prune.class_key(spec, p) for p in points]
    acc = {k: rng.uniform(0.5, 1.0) for k in sorted(set(keys))}
    rows = []
    for p, k in zip(points, keys, strict=True):
        row: dict[str, Any] = {**p, "status": "ok", "accuracy_mean": acc[k]}
        row.update(energy_J=rng.uniform(1e-9, 1e-8), area_mm2=rng.uniform(0.1, 1.0))
        rows.append(row)
    return pd.DataFrame(rows)


def test_accuracy_classes_follow_the_parameter_stages() -> None:
    spec = _spec()
    assert prune.ppa_only_axes(spec) == ["tech_node", "adc_type"]  # read by PPA only
    points = prune.space_points(spec)
    assert len(points) == 3 * 2 * 3 * 2
    assert len({prune.class_key(spec, p) for p in points}) == 3 * 2
    assert prune.ppa_side(spec) == (["energy_J", "area_mm2"], ["accuracy_mean"])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("constraints", [[], ["energy_J <= 6e-9"], ["area_mm2 < 0.5"]])
def test_pruning_keeps_every_point_of_the_full_front(seed: int, constraints: list[str]) -> None:
    spec = _spec(constraints=["accuracy_mean >= 0.6", *constraints])
    table = _synthetic(spec, seed)
    rows = table.to_dict("records")
    keys = [prune.class_key(spec, p) for p in prune.space_points(spec)]
    why = prune.kept_mask(spec, rows, keys)
    kept = ~(np.array(why["infeasible"]) | np.array(why["dominated"]))
    on_front = front.pareto_mask(table, spec.objectives, spec.constraints).to_numpy()
    assert on_front.any() and (kept | ~on_front).all()  # the front survives whole
    assert kept.sum() < len(table)  # and something was pruned
    # the front of the kept points is the full front
    sub = table[kept]
    sub_front = front.pareto_mask(sub, spec.objectives, spec.constraints)
    assert sorted(sub[sub_front].index) == sorted(table[on_front].index)
    # a pruned feasible point is dominated by a kept class mate
    for i in np.flatnonzero(np.array(why["dominated"])):
        mates = [j for j in np.flatnonzero(kept) if keys[j] == keys[i]]
        e, a = table.loc[i, "energy_J"], table.loc[i, "area_mm2"]
        assert any(table.loc[j, "energy_J"] <= e and table.loc[j, "area_mm2"] <= a for j in mates)
    # every PPA-infeasible point violates a PPA constraint
    for i in np.flatnonzero(np.array(why["infeasible"])):
        assert any(c.violation(float(table.loc[i, c.column])) > 0 for c in spec.constraints)


def test_one_ppa_objective_keeps_the_cheapest_point_per_class() -> None:
    spec = _spec(objectives={"accuracy_mean": "max", "energy_J": "min"})
    table = _synthetic(spec, 1)
    keys = [prune.class_key(spec, p) for p in prune.space_points(spec)]
    why = prune.kept_mask(spec, table.to_dict("records"), keys)
    table["kept"] = ~np.array(why["dominated"])
    table["class"] = keys
    for _, group in table.groupby("class"):
        assert group["kept"].sum() == 1
        assert group.loc[group["kept"], "energy_J"].item() == group["energy_J"].min()


def test_repair_moves_a_proposal_to_the_nearest_kept_class_mate() -> None:
    spec = _spec()
    points = prune.space_points(spec)
    cls = prune.class_key(spec, points[0])
    mates = [p for p in points if prune.class_key(spec, p) == cls]
    kept = prune.kept_index([mates[0], mates[-1]], spec)  # (65, sar) and (22, flash)
    assert prune.repair(spec, mates[-1], kept) == mates[-1]
    near_first = {**mates[0], "adc_type": "flash"}  # (65, flash): 1 step from (65, sar)
    assert prune.repair(spec, near_first, kept) == mates[0]
    near_last = {**mates[0], "tech_node": "22"}  # (22, sar): 1 step from (22, flash)
    assert prune.repair(spec, near_last, kept) == mates[-1]
    other = next(p for p in points if prune.class_key(spec, p) != cls)
    assert prune.repair(spec, other, kept) is None  # its class kept nothing


def test_ask_round_proposes_only_kept_points(tmp_path: Path) -> None:
    spec = _spec(objectives={"accuracy_mean": "max", "energy_J": "min"}, budget=6, batch=3)
    table = _synthetic(spec, 2)
    keys = [prune.class_key(spec, p) for p in prune.space_points(spec)]
    why = prune.kept_mask(spec, table.to_dict("records"), keys)
    kept_points = [
        p for p, d in zip(prune.space_points(spec), why["dominated"], strict=True) if not d
    ]
    kept = prune.kept_index(kept_points, spec)
    lookup = {
        study.point_key(p): r
        for p, r in zip(prune.space_points(spec), table.to_dict("records"), strict=True)
    }

    def run(path: Path) -> list[str]:
        store = study.storage(path)
        out = []
        for r in range(2):
            entries = study.ask_round(spec, store, r, 3, kept)
            rows = {e["trial"]: lookup[study.point_key(e["point"])] for e in entries}
            study.tell_round(spec, store, r, rows)
            out += [study.point_key(e["point"]) for e in entries]
        return out

    a = run(tmp_path / "a.journal")
    assert len(a) == len(set(a)) == 6  # 6 distinct kept points (of the 6 classes)
    assert set(a) == {study.point_key(p) for p in kept_points}
    assert a == run(tmp_path / "b.journal")  # same seed, same proposals


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"prune_with_ppa": "yes"}, "search.prune_with_ppa"),
        ({"space": {**SPACE, "t": {"low": 1.0, "high": 10.0}}}, "search.space.t"),
        ({"prunewithppa": True}, "did you mean 'prune_with_ppa'"),
    ],
)
def test_bad_prune_config_names_the_key(change: dict[str, Any], named: str) -> None:
    body = {
        "objectives": {"accuracy_mean": "max", "energy_J": "min"},
        "space": SPACE,
        "budget": 4,
        "prune_with_ppa": True,
        **change,
    }
    with pytest.raises(ConfigError) as err:
        load({"params": {"dataset": "digits"}, "search": body})
    assert named in str(err.value)


def test_prune_computes_the_ppa_at_the_rule_paths(tmp_path: Path) -> None:
    """The analytic PPA of every point, written where the ppa rule writes it; energy falls
    with the node, so each accuracy class keeps its 22 nm point."""
    space = {"adc_precision": [3, 8], "read_noise": [0.0, 0.1], "tech_node": [45, 22]}
    raw = {
        "params": {"dataset": "digits", "model": "mlp"},
        "search": {
            "objectives": {"accuracy_mean": "max", "energy_J": "min"},
            "space": space,
            "budget": 4,
            "prune_with_ppa": True,
        },
    }
    sweep = load(raw)
    spec = parse(raw["search"])
    tech = str(Path(__file__).resolve().parents[1] / "config" / "tech")
    root = str(tmp_path / "results")
    report = prune.prune(spec, sweep, root, tech, str(tmp_path / "pruned.json"))
    assert report["space_points"] == 8 and report["accuracy_classes"] == 4
    assert report["ppa_results_built"] == 4  # read_noise does not reach the PPA
    assert report["kept_points"] == 4 and report["pruned_dominated"] == 4
    assert {p["tech_node"] for p in report["kept"]} == {"22"}
    for p in itertools.islice(prune.space_points(spec), 8):
        assert Path(sweep.result_path("ppa", p, root)).exists()
    again = prune.prune(spec, sweep, root, tech, str(tmp_path / "again.json"))
    assert again["ppa_results_built"] == 0 and again["kept"] == report["kept"]


def test_buffered_journal_writes_nothing_before_a_flush(tmp_path: Path) -> None:
    path = tmp_path / "s.journal"
    spec = parse(
        {
            "objectives": {"accuracy_mean": "max", "energy_J": "min"},
            "space": {"adc_precision": [3, 4, 5, 6], "read_noise": [0.0, 0.1]},
            "budget": 4,
            "batch": 4,
        }
    )
    store = study.storage(path)
    s = study.open_study(spec, store, 0)
    s.ask(study.distributions(spec))
    assert path.read_bytes() == b""  # a kill now leaves the journal as it was
    assert len(s.get_trials()) == 1  # the storage sees its pending writes
    backend = store._backend
    assert isinstance(backend, BufferedJournalBackend) and backend.flush() > 0
    fresh = optuna.load_study(study_name=study.STUDY_NAME, storage=study.storage(path))
    assert len(fresh.get_trials()) == 1


def test_buffered_and_plain_journals_propose_the_same(tmp_path: Path) -> None:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    spec = parse(
        {
            "objectives": {"accuracy_mean": "max", "energy_J": "min"},
            "space": {"adc_precision": [3, 4, 5, 6, 8], "read_noise": [0.0, 0.05, 0.1, 0.2]},
            "budget": 12,
            "batch": 4,
        }
    )

    def run(store: Any) -> list[list[dict[str, str]]]:
        out = []
        for r in range(3):
            entries = study.ask_round(spec, store, r, 4)
            rows = {
                e["trial"]: {
                    "status": "ok",
                    "accuracy_mean": 1 - float(e["point"]["read_noise"]),
                    "energy_J": 2.0 ** int(e["point"]["adc_precision"]),
                }
                for e in entries
            }
            study.tell_round(spec, store, r, rows)
            out.append([e["point"] for e in entries])
        return out

    plain = JournalStorage(JournalFileBackend(str(tmp_path / "plain.journal")))
    assert run(study.storage(tmp_path / "buffered.journal")) == run(plain)

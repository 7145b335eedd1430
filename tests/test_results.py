"""Tests for the tidy results table, Pareto front and swept axes."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cimsweep.results import (
    METRIC_COLUMNS,
    build_table,
    param_columns,
    pareto_front,
    read_table,
    swept_axes,
    write_table,
)
from cimsweep.workflow.params import PARAMS


def _records(seed: int = 0) -> list[dict]:
    """Small grid over model x sub_array x adc_precision, one failed point, shuffled."""
    rng = np.random.default_rng(seed)
    recs = []
    for model, sa, adc in itertools.product(["mlp", "cnn"], [(64, 64), [128, 128], 256], [3, 5]):
        recs.append(
            {
                "model": model,
                "sub_array": sa,
                "adc_precision": adc,
                "accuracy_mean": float(rng.uniform(0.5, 1.0)),
                "accuracy_std": 0.01,
                "energy_J": float(rng.uniform(1e-9, 1e-7)),
                "energy_adc_J": 1e-9,
            }
        )
    recs[3] |= {"status": "failed", "error": "boom", "accuracy_mean": None}
    rng.shuffle(recs)
    return recs


def test_build_table_columns_and_types() -> None:
    df = build_table(_records())
    cols = list(df.columns)
    assert cols[: len(param_columns())] == param_columns()
    assert cols[len(param_columns()) : len(param_columns()) + len(METRIC_COLUMNS)] == list(
        METRIC_COLUMNS
    )
    assert set(df["sub_array"]) == {"64x64", "128x128", "256x256"}
    assert df["sub_array_rows"].dtype == np.int64
    assert df["adc_precision"].dtype == np.int64
    assert df["read_noise"].dtype == np.float64
    assert (df["read_noise"] == PARAMS["read_noise"].default).all()
    assert df["status"].value_counts().to_dict() == {"ok": 11, "failed": 1}
    assert df.loc[df["status"] == "failed", "error"].tolist() == ["boom"]
    assert (df.loc[df["status"] == "ok", "error"] == "").all()
    assert df["area_mm2"].isna().all()


def test_build_table_is_deterministic() -> None:
    a = build_table(_records(0))
    recs = _records(0)
    recs.reverse()
    b = build_table(recs)
    pd.testing.assert_frame_equal(a, b)
    # subarrays sorted numerically, not as strings
    mlp = a[(a["model"] == "mlp") & (a["adc_precision"] == 3)]
    assert mlp["sub_array"].tolist() == ["64x64", "128x128", "256x256"]


def test_build_table_rejects_duplicates_and_bad_status() -> None:
    recs = _records()
    with pytest.raises(ValueError, match="share parameters"):
        build_table(recs + [dict(recs[0])])
    with pytest.raises(ValueError, match="status"):
        build_table([{"status": "weird"}])
    with pytest.raises(ValueError, match="missing"):
        build_table([{"model": "mlp"}], fill_defaults=False)


def test_write_and_read_table(tmp_path: Path) -> None:
    df = build_table(_records())
    csv, pq = tmp_path / "t" / "results.csv", tmp_path / "t" / "results.parquet"
    write_table(df, csv, pq)
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["results.csv", "results.parquet"]
    pd.testing.assert_frame_equal(read_table(pq), df)
    back = read_table(csv)
    assert list(back.columns) == list(df.columns)
    assert back["sub_array"].tolist() == df["sub_array"].tolist()
    assert back["error"].tolist() == df["error"].tolist()
    np.testing.assert_allclose(back["energy_J"], df["energy_J"])


def _brute_force(xs: np.ndarray, ys: np.ndarray, ok: np.ndarray) -> np.ndarray:
    out = np.zeros(len(xs), dtype=bool)
    for i in range(len(xs)):
        if not ok[i] or np.isnan(xs[i]) or np.isnan(ys[i]):
            continue
        dominated = False
        for j in range(len(xs)):
            if j == i or not ok[j] or np.isnan(xs[j]) or np.isnan(ys[j]):
                continue
            if xs[j] <= xs[i] and ys[j] >= ys[i] and (xs[j] < xs[i] or ys[j] > ys[i]):
                dominated = True
                break
        out[i] = not dominated
    return out


@pytest.mark.parametrize("seed", range(20))
def test_pareto_front_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    # few distinct values so ties in x, in y and in both are common
    xs = rng.integers(0, 8, n).astype(float)
    ys = rng.integers(0, 8, n).astype(float)
    xs[rng.random(n) < 0.05] = np.nan
    ok = rng.random(n) > 0.15
    df = pd.DataFrame(
        {"energy_J": xs, "accuracy_mean": ys, "status": np.where(ok, "ok", "failed")},
        index=rng.permutation(n) + 100,
    )
    mask = pareto_front(df)
    assert mask.dtype == bool
    assert mask.index.equals(df.index)
    np.testing.assert_array_equal(mask.to_numpy(), _brute_force(xs, ys, ok))


def test_pareto_front_by_group_and_empty() -> None:
    df = pd.DataFrame(
        {
            "model": ["a", "a", "b", "b"],
            "energy_J": [1.0, 2.0, 3.0, 4.0],
            "accuracy_mean": [0.5, 0.9, 0.1, 0.2],
        }
    )
    assert pareto_front(df).tolist() == [True, True, False, False]
    assert pareto_front(df, by="model").tolist() == [True, True, True, True]
    assert not pareto_front(df.iloc[:0]).any()


def test_swept_axes() -> None:
    df = build_table(_records())
    assert swept_axes(df) == ["model", "sub_array", "adc_precision"]
    assert swept_axes(df[df["model"] == "mlp"]) == ["sub_array", "adc_precision"]

"""The speed-comparison benchmarks' helpers (no timing here): skips with a clear message, the
interleaved timer, method wrapping on the NeuroSim backbone and chip copies."""

from __future__ import annotations

import sys

import pytest
import torch

from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import _neurosim_v15 as ns  # noqa: E402
import _speed  # noqa: E402
import bench_aihwkit  # noqa: E402
import bench_neurosim_v15_speed  # noqa: E402
import bench_vgg8  # noqa: E402

from cimsweep.cim.chip import Chip  # noqa: E402


def test_aihwkit_missing_skips_with_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "aihwkit", None)  # import aihwkit raises ImportError
    threads: list[int] = []
    monkeypatch.setattr(_speed, "set_threads", threads.append)  # keep this process's threads
    assert bench_aihwkit.main(["--quick", "--threads", "2"]) == 0
    assert "aihwkit not installed: skipped" in capsys.readouterr().out
    assert threads == [2]  # set before aihwkit would load its OpenBLAS


def test_neurosim_checkout_missing_skips_with_message(
    tmp_path: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_neurosim_v15_speed.main(["--neurosim", str(tmp_path), "--quick"]) == 0
    out = capsys.readouterr().out
    assert "no NeuroSim V1.5 checkout" in out and str(tmp_path) in out and "skipped" in out


def test_interleaved_calls_each_once_per_round_after_a_warm_up() -> None:
    order: list[str] = []
    times = _speed.interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, 3)
    assert order == ["a", "b"] * 4  # warm-up round, then 3 timed rounds
    for t in times.values():
        assert len(t["times_s"]) == 3
        assert t["min_s"] <= t["median_s"] == sorted(t["times_s"])[1]


def test_wrapped_replaces_methods_and_restores_them_on_error() -> None:
    class A:
        def f(self, x: int) -> tuple[float, float]:
            return x + 0.4, x - 0.4

    class B:
        def g(self, x: int) -> tuple[float, float]:
            return x + 0.6, x

    f, g = A.f, B.g
    with pytest.raises(RuntimeError), ns.wrapped([(A, "f", ns._rounding), (B, "g", ns._rounding)]):
        a, b = A().f(torch.tensor(2.0)), B().g(torch.tensor(2.0))
        assert (float(a[0]), float(a[1]), float(b[0])) == (2.0, 2.0, 3.0)  # rounded
        raise RuntimeError("inside")
    assert A.f is f and B.g is g
    assert A().f(2) == (2.4, 1.6)


def test_chip_to_copies_every_tensor_field() -> None:
    chip = Chip(
        bucket_weights=[torch.arange(6.0).view(1, 2, 3)],
        scale=torch.ones(2, 1),
        masks=(torch.zeros(2, dtype=torch.bool), torch.ones(2, dtype=torch.bool)),
    )
    moved = bench_vgg8.chip_to(chip, torch.device("cpu"))
    assert moved is not chip and moved.effective is None and isinstance(moved.masks, tuple)
    assert torch.equal(moved.bucket_weights[0], chip.bucket_weights[0])
    assert moved.masks is not None and torch.equal(moved.masks[1], torch.ones(2, dtype=torch.bool))


def test_same_work_settings_map_to_one_slice_per_weight_and_input() -> None:
    """The aihwkit comparison's cimsweep side does one analog pass per 512x512 tile."""
    model, x, x_cal = _speed.workload("linear512", 8)
    cm, _ = _speed.cimsweep_model(model, x_cal, **bench_aihwkit.CIMSWEEP_SIM)
    (info,) = [m.engine.describe() for m in cm.modules() if hasattr(m, "engine")]
    assert (info["weight_slices"], info["input_slices"], info["read_groups"]) == (1, 1, 1)
    assert (info["rows"], info["cols"]) == (512, 512)
    assert cm(x).shape == (8, 512)


def test_agreement_copies_chip_and_noise_keys() -> None:
    """Two chips from different seeds (programming noise, stuck cells) agree bit for bit once
    the second takes the first's chip and noise keys, as the CPU-vs-GPU check does."""
    model, x, x_cal = _speed.workload("cnn", 16)
    sim = bench_vgg8.SETTINGS["noisy"]
    a, _ = _speed.cimsweep_model(model, x_cal, seed=0, **sim)
    b, _ = _speed.cimsweep_model(model, x_cal, seed=1, **sim)
    with torch.no_grad():
        assert not torch.equal(a(x), b(x))  # different chips and noise
    out = bench_vgg8.agreement(a, b, x, torch.device("cpu"))
    assert out["bit_identical"] and out["logits_max_abs_diff"] == 0.0
    assert out["argmax_agree"] == 1.0 and set(out["layers"]) == {
        "features.0",
        "features.2",
        "classifier.1",
    }

"""Resumable training: checkpoint every epoch, resume after an interruption, same weights."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from cimsweep.nn.models import build_model
from cimsweep.training import train as train_mod
from cimsweep.training.train import resolve_augment, resolve_device, train_model


def _data() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 96)
    x = (rng.normal(size=(96, 3, 8, 8)) + y[:, None, None, None] * 0.5).astype(np.float32)
    return x[:64], y[:64].astype(np.int64), x[64:], y[64:].astype(np.int64)


MODEL = "resnet20"  # batch norm (running stats) and residual blocks
KW = dict(epochs=4, lr=0.05, batch_size=16, weight_decay=5e-4, seed=7)


def _run(ckpt: Path | None, optimizer: str, **extra) -> tuple[torch.nn.Module, dict]:
    torch.manual_seed(1)
    model = build_model(MODEL, (3, 8, 8), 4)
    metrics = train_model(
        model,
        *_data(),
        **KW,
        optimizer=optimizer,
        augment="crop_flip",
        checkpoint_path=ckpt,
        **extra,
    )
    return model, metrics


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models train faster (and more predictably on a busy machine) on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_resume_after_interruption_gives_identical_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, optimizer: str
) -> None:
    reference, ref_metrics = _run(None, optimizer)

    ckpt = tmp_path / "train" / "checkpoint.pt"
    real_save = train_mod._save_checkpoint
    calls = {"n": 0}

    def save_then_die(path, state):
        real_save(path, state)
        calls["n"] += 1
        if calls["n"] == 2:  # killed right after epoch 2's checkpoint
            raise Interrupted

    monkeypatch.setattr(train_mod, "_save_checkpoint", save_then_die)
    with pytest.raises(Interrupted):
        _run(ckpt, optimizer)
    monkeypatch.setattr(train_mod, "_save_checkpoint", real_save)
    assert torch.load(ckpt, weights_only=True)["epoch"] == 2

    resumed, metrics = _run(ckpt, optimizer)
    assert metrics["resumed_from_epoch"] == 2
    ref_state, state = reference.state_dict(), resumed.state_dict()
    assert all(torch.equal(ref_state[k], state[k]) for k in ref_state)
    assert metrics["test_accuracy"] == ref_metrics["test_accuracy"]
    assert [h["loss"] for h in metrics["history"]] == [h["loss"] for h in ref_metrics["history"]]
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["checkpoint.pt"]  # no temp files


def test_checkpoint_of_another_run_is_ignored(tmp_path: Path, caplog) -> None:
    ckpt = tmp_path / "ckpt.pt"
    _run(ckpt, "sgd")
    caplog.set_level(logging.INFO, logger="cimsweep.training.train")
    _, metrics = _run(ckpt, "adamw")  # different optimizer: start over
    assert metrics["resumed_from_epoch"] == 0
    assert "different run" in caplog.text
    ckpt.write_bytes(b"garbage")
    _, metrics = _run(ckpt, "sgd")
    assert metrics["resumed_from_epoch"] == 0 and "unreadable" in caplog.text


def test_progress_lines_and_metrics(caplog) -> None:
    caplog.set_level(logging.INFO, logger="cimsweep.training.train")
    model, metrics = _run(None, "sgd", log_every=2)
    lines = [r.getMessage() for r in caplog.records]
    assert any("epoch 4/4 loss" in m and "ETA 0:00:00" in m and "test_acc" in m for m in lines)
    assert any("batch 2/4" in m for m in lines)
    assert len(metrics["history"]) == 4 and metrics["device"] == "cpu"
    assert next(model.parameters()).device.type == "cpu"


def test_resolvers() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda")
    assert resolve_augment("auto", "cifar10") == "crop_flip"
    assert resolve_augment("auto", "digits") == "none"
    with pytest.raises(ValueError, match="optimizer"):
        train_model(build_model("mlp", (3, 8, 8), 4), *_data(), **KW, optimizer="lamb")

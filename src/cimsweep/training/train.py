"""Float training of zoo models with torch: seeded, CPU or CUDA, resumable.

* optimizers: Adam (the default), AdamW or SGD with Nesterov momentum, each with weight decay
  and a per-epoch cosine learning-rate schedule;
* optional training augmentation (random crop after 4-px padding, horizontal flip), drawn from
  a seeded CPU generator so it is identical on every device; test data is never augmented;
* mixed precision (bfloat16, or float16 with loss scaling) on CUDA;
* a checkpoint after every epoch (model, optimizer, scheduler, scaler and RNG states, written
  atomically); a restarted run resumes from it and ends with the same weights as an
  uninterrupted run on the same device;
* progress lines (epoch, loss, accuracy, learning rate, ETA) through :mod:`logging`.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cimsweep.data import AUGMENTED_BY_DEFAULT, random_crop_flip
from cimsweep.io import write_with

log = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw", "sgd")
AUGMENTS = ("none", "crop_flip")
DEVICES = ("auto", "cpu", "cuda")
CHECKPOINT_FORMAT = 1


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cuda`` without a GPU raises ValueError."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def resolve_augment(augment: str, dataset: str) -> str:
    """``auto`` -> ``crop_flip`` for CIFAR and image-folder sets, ``none`` otherwise."""
    if augment == "auto":
        return "crop_flip" if dataset in AUGMENTED_BY_DEFAULT else "none"
    if augment not in AUGMENTS:
        raise ValueError(f"unknown augment {augment!r}; expected auto or one of {AUGMENTS}")
    return augment


def make_optimizer(
    name: str, params: Any, lr: float, weight_decay: float, momentum: float = 0.9
) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (Nesterov momentum when ``momentum > 0``) with weight decay."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=momentum > 0
        )
    raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")


def _autocast(device: torch.device, enabled: bool) -> Any:
    if device.type != "cuda" or not enabled:
        return torch.autocast(device_type="cpu", enabled=False)
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def accuracy(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024, amp: bool = False
) -> float:
    """Top-1 accuracy (fraction) of ``model`` in eval mode, on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    correct = torch.zeros((), dtype=torch.int64, device=device)
    with torch.no_grad(), _autocast(device, amp):
        for i in range(0, len(x), batch):
            xb = x[i : i + batch].to(device, non_blocking=True)
            yb = y[i : i + batch].to(device, non_blocking=True)
            correct += (model(xb).argmax(1) == yb).sum()
    return correct.item() / max(len(x), 1)


# ---- checkpoints ----------------------------------------------------------------------------
def _save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write a training checkpoint atomically (temporary file + ``os.replace``)."""
    write_with(path, lambda tmp: torch.save(state, tmp))


def _load_checkpoint(path: str | Path, signature: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint at ``path`` if it exists, is readable and matches ``signature``."""
    if not os.path.exists(path):
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: start over
        log.warning("%s: unreadable checkpoint ignored (%s: %s)", path, type(exc).__name__, exc)
        return None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        log.warning("%s: not a cimsweep training checkpoint; ignored", path)
        return None
    if state.get("signature") != signature:
        log.warning(
            "%s: checkpoint of a different run (%s != %s); starting over",
            path,
            state.get("signature"),
            signature,
        )
        return None
    return state


def _rng_state(gen: torch.Generator) -> dict[str, Any]:
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"generator": gen.get_state(), "torch": torch.get_rng_state(), "cuda": cuda}


def _set_rng_state(gen: torch.Generator, state: dict[str, Any]) -> None:
    gen.set_state(state["generator"])
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _eta(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def train_model(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float,
    seed: int,
    optimizer: str = "adam",
    momentum: float = 0.9,
    augment: str = "none",
    device: str = "cpu",
    amp: bool = True,
    checkpoint_path: str | Path | None = None,
    log_every: int = 0,
    eval_every: int = 1,
    generators: Sequence[torch.Generator] = (),
    signature_extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train with a cosine schedule; returns metrics (accuracies are fractions).

    ``device``: ``auto``, ``cpu`` or ``cuda``; ``amp``: mixed precision on CUDA.
    ``checkpoint_path``: written after every epoch and resumed from when it matches this run.
    ``log_every``: also log every that many batches (0: epoch lines only); ``eval_every``:
    test accuracy every that many epochs (0: only at the end). The model ends on the CPU.
    ``generators``: further random streams the model draws from (noise-aware training); their
    states are checkpointed and restored with the rest. ``signature_extra``: more settings a
    checkpoint must match to be resumed (e.g. the training mode).
    """
    if augment not in AUGMENTS:
        raise ValueError(f"unknown augment {augment!r}; expected one of {AUGMENTS}")
    dev = resolve_device(device)
    use_amp = amp and dev.type == "cuda"
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    gen = torch.Generator().manual_seed(seed)
    model.to(dev)
    xt, yt = torch.from_numpy(x_train).to(dev), torch.from_numpy(y_train).to(dev)
    xe, ye = torch.from_numpy(x_test).to(dev), torch.from_numpy(y_test).to(dev)
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay, momentum)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    fp16 = use_amp and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda", enabled=fp16)
    loss_fn = nn.CrossEntropyLoss()
    signature = {
        "epochs": epochs,
        "lr": float(lr),
        "batch_size": batch_size,
        "weight_decay": float(weight_decay),
        "seed": seed,
        "optimizer": optimizer,
        "momentum": float(momentum),
        "augment": augment,
        "n_train": len(x_train),
        "n_params": sum(p.numel() for p in model.parameters()),
        **dict(signature_extra or {}),
    }
    start_epoch, history, elapsed_before = 0, [], 0.0
    state = _load_checkpoint(checkpoint_path, signature) if checkpoint_path else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        _set_rng_state(gen, state["rng"])
        for g, g_state in zip(generators, state.get("generators", []), strict=False):
            _set_rng_state(g, g_state)
        start_epoch, history = state["epoch"], list(state["history"])
        elapsed_before = float(state["elapsed"])
        log.info("resuming from %s after epoch %d/%d", checkpoint_path, start_epoch, epochs)
    log.info(
        "training %d samples for %d epochs on %s (%s, lr %g, batch %d, augment %s%s)",
        len(xt),
        epochs,
        dev,
        optimizer,
        lr,
        batch_size,
        augment,
        ", mixed precision" if use_amp else "",
    )
    start = time.perf_counter()
    n_batches = math.ceil(len(xt) / batch_size)
    for epoch in range(start_epoch, epochs):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(len(xt), generator=gen).to(dev)
        total = torch.zeros((), device=dev)
        correct = torch.zeros((), dtype=torch.int64, device=dev)
        for b, i in enumerate(range(0, len(order), batch_size)):
            idx = order[i : i + batch_size]
            xb, yb = xt[idx], yt[idx]
            if augment == "crop_flip":
                xb = random_crop_flip(xb, gen)
            opt.zero_grad(set_to_none=True)
            with _autocast(dev, use_amp):
                out = model(xb)
                loss = loss_fn(out, yb)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            total += loss.detach().float() * len(idx)
            correct += (out.detach().argmax(1) == yb).sum()
            if log_every and (b + 1) % log_every == 0:
                log.info(
                    "epoch %d/%d batch %d/%d loss %.4f",
                    epoch + 1,
                    epochs,
                    b + 1,
                    n_batches,
                    loss.item(),
                )
        sched.step()
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": total.item() / len(xt),
            "train_accuracy": correct.item() / len(xt),
            "lr": opt.param_groups[0]["lr"],
        }
        if eval_every and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
            record["test_accuracy"] = accuracy(model, xe, ye, amp=use_amp)
        history.append(record)
        done = time.perf_counter() - start
        per_epoch = done / (epoch + 1 - start_epoch)
        log.info(
            "epoch %d/%d loss %.4f train_acc %.4f%s lr %.3g %.1fs ETA %s",
            epoch + 1,
            epochs,
            record["loss"],
            record["train_accuracy"],
            f" test_acc {record['test_accuracy']:.4f}" if "test_accuracy" in record else "",
            record["lr"],
            time.perf_counter() - epoch_start,
            _eta(per_epoch * (epochs - epoch - 1)),
        )
        if checkpoint_path:
            _save_checkpoint(
                checkpoint_path,
                {
                    "format": CHECKPOINT_FORMAT,
                    "signature": signature,
                    "epoch": epoch + 1,
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict(),
                    "scaler": scaler.state_dict(),
                    "rng": _rng_state(gen),
                    "generators": [_rng_state(g) for g in generators],
                    "history": history,
                    "elapsed": elapsed_before + time.perf_counter() - start,
                },
            )
    metrics: dict[str, Any] = {
        "train_accuracy": accuracy(model, xt, yt, amp=use_amp),
        "test_accuracy": accuracy(model, xe, ye, amp=use_amp),
        "final_loss": history[-1]["loss"] if history else float("nan"),
        "train_seconds": elapsed_before + time.perf_counter() - start,
        "epochs": epochs,
        "resumed_from_epoch": start_epoch,
        "device": str(dev),
        "history": history,
    }
    model.to("cpu")
    return metrics

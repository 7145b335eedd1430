"""Float training of zoo models with torch (seeded, CPU or CUDA)."""

from __future__ import annotations

import logging
import time

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1024) -> float:
    """Top-1 accuracy (fraction) of ``model`` in eval mode."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
    return correct / max(len(x), 1)


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
) -> dict[str, float]:
    """Train with Adam and a cosine schedule; returns metrics (accuracies are fractions)."""
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    xe, ye = torch.from_numpy(x_test), torch.from_numpy(y_test)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    loss_value = float("nan")
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        loss_value = total / len(xt)
        log.info("epoch %d/%d loss %.4f", epoch + 1, epochs, loss_value)
    return {
        "train_accuracy": accuracy(model, xt, yt),
        "test_accuracy": accuracy(model, xe, ye),
        "final_loss": loss_value,
        "train_seconds": time.perf_counter() - start,
        "epochs": epochs,
    }

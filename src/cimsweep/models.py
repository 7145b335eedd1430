"""Model zoo: small networks for the embedded digits data set.

Every ``nn.Linear`` and ``nn.Conv2d`` is a layer the simulator maps onto crossbars.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class MLP(nn.Module):
    """Two hidden-layer perceptron on flattened images."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int, hidden: int = 128):
        super().__init__()
        c, h, w = in_shape
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c * h * w, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden // 2),
            nn.ReLU(),
            nn.Linear(hidden // 2, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN(nn.Module):
    """Two 3x3 convolutions, one max-pool and a linear classifier."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int, width: int = 16):
        super().__init__()
        c, h, w = in_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * (h // 2) * (w // 2), num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


MODELS: dict[str, Callable[..., nn.Module]] = {"mlp": MLP, "cnn": CNN}


def build_model(name: str, in_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """Instantiate a zoo model by name."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}") from None
    return factory(tuple(in_shape), num_classes)


def cim_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The (qualified name, module) pairs of every layer mapped onto crossbars, in model order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]

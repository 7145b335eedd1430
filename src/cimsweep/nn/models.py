"""Model zoo: small networks for the embedded digits set and the thesis-scale workloads
(VGG8 as in DNN+NeuroSim, CIFAR ResNet-18 and ResNet-20, LeNet-5), plus user models.

Every ``nn.Linear`` and ``nn.Conv2d`` is a layer the simulator maps onto crossbars, unless it is
declared digital (:func:`set_digital_layers`). Batch normalisation, pooling, ReLU and residual
additions stay separate (digital) modules: no fused conv/BN modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from cimsweep.layout import digital_names


def layer_weight(module: nn.Module) -> torch.Tensor:
    """``module.weight`` as a Tensor (torch's stubs type it ``Tensor | Module``)."""
    weight: torch.Tensor = module.weight  # type: ignore[assignment]  # stubs: Tensor | Module
    return weight


def layer_bias(module: nn.Module) -> torch.Tensor | None:
    """``module.bias`` as a Tensor or None (torch's stubs type it ``Tensor | Module``)."""
    bias: torch.Tensor | None = module.bias  # type: ignore[assignment]  # stubs: Tensor | Module
    return bias


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
    """Two 3x3 convolutions (8 and 16 channels), one max-pool and a linear classifier."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int, width: int = 8):
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


def _conv_bn(c_in: int, c_out: int, stride: int = 1, kernel: int = 3) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(c_out)]


class VGG8(nn.Module):
    """VGG8 of DNN+NeuroSim for CIFAR-10: 3x3 convolutions 128, 128, M, 256, 256, M, 512, 512,
    M, then FC 8192 -> 1024 -> classes (for 32x32 inputs). Batch norm follows each convolution
    (``batch_norm=False`` gives NeuroSim's plain variant); convolutions have no bias."""

    CFG = (128, 128, "M", 256, 256, "M", 512, 512, "M")

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: int,
        batch_norm: bool = True,
        hidden: int = 1024,
    ):
        super().__init__()
        c, h, w = in_shape
        layers: list[nn.Module] = []
        for v in self.CFG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
                continue
            assert isinstance(v, int)
            layers.append(nn.Conv2d(c, v, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(nn.ReLU(inplace=True))
            c = v
        if h < 1 or w < 1:
            raise ValueError(f"VGG8 needs inputs of at least 8x8 pixels, got {in_shape}")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c * h * w, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    """ResNet basic block: two 3x3 conv + BN; the shortcut is identity, a 1x1 conv + BN
    projection (``shortcut="conv"``) or zero-padded subsampling (``"pad"``, He et al. option A,
    no weights)."""

    def __init__(self, c_in: int, c_out: int, stride: int, shortcut: str = "conv"):
        super().__init__()
        self.conv1, self.bn1 = _conv_bn(c_in, c_out, stride)
        self.conv2, self.bn2 = _conv_bn(c_out, c_out)
        self.relu = nn.ReLU(inplace=True)
        self.pad = 0
        self.stride = stride
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            if shortcut == "conv":
                self.shortcut = nn.Sequential(*_conv_bn(c_in, c_out, stride, kernel=1))
            else:
                self.pad = c_out - c_in

    def _short(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad or (self.stride != 1 and isinstance(self.shortcut, nn.Identity)):
            x = x[:, :, :: self.stride, :: self.stride]
            half = self.pad // 2
            return nn.functional.pad(x, (0, 0, 0, 0, half, self.pad - half))
        return self.shortcut(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self._short(x))


class ResNet(nn.Module):
    """CIFAR-style ResNet: a 3x3 stem (stride 1, no max-pool), stages of basic blocks,
    global average pooling and one linear classifier."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        num_classes: int,
        widths: tuple[int, ...],
        blocks: tuple[int, ...],
        shortcut: str = "conv",
    ):
        super().__init__()
        c = in_shape[0]
        self.stem = nn.Sequential(*_conv_bn(c, widths[0]), nn.ReLU(inplace=True))
        stages: list[nn.Module] = []
        c_in = widths[0]
        for i, (width, n) in enumerate(zip(widths, blocks, strict=True)):
            stride = 1 if i == 0 else 2
            stage = [BasicBlock(c_in, width, stride, shortcut)]
            stage += [BasicBlock(width, width, 1, shortcut) for _ in range(n - 1)]
            stages.append(nn.Sequential(*stage))
            c_in = width
        self.stages = nn.Sequential(*stages)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(c_in, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.stages(self.stem(x))))


def resnet18(in_shape: tuple[int, int, int], num_classes: int) -> ResNet:
    """ResNet-18, CIFAR variant (3x3 stem): widths 64-512, 2 blocks per stage, 1x1 projections."""
    return ResNet(in_shape, num_classes, (64, 128, 256, 512), (2, 2, 2, 2), "conv")


def resnet20(in_shape: tuple[int, int, int], num_classes: int) -> ResNet:
    """ResNet-20 of He et al. for CIFAR: widths 16-32-64, 3 blocks per stage, option-A
    (parameter-free) shortcuts, so its 19 convolutions and 1 linear layer are all mapped."""
    return ResNet(in_shape, num_classes, (16, 32, 64), (3, 3, 3), "pad")


class LeNet5(nn.Module):
    """LeNet-5 (ReLU, max-pool): conv5x5 6, pool, conv5x5 16, pool, FC 120, 84, classes.
    Inputs smaller than 32x32 (MNIST) are zero-padded by 2 in the first convolution."""

    def __init__(self, in_shape: tuple[int, int, int], num_classes: int):
        super().__init__()
        c, h, w = in_shape
        if min(h, w) < 20:
            raise ValueError(f"LeNet-5 needs inputs of at least 20x20 pixels, got {in_shape}")
        pad = 2 if min(h, w) < 32 else 0
        self.features = nn.Sequential(
            nn.Conv2d(c, 6, 5, padding=pad),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        oh, ow = ((h + 2 * pad - 4) // 2 - 4) // 2, ((w + 2 * pad - 4) // 2 - 4) // 2
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * oh * ow, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": MLP,
    "cnn": CNN,
    "vgg8": VGG8,
    "resnet18": resnet18,
    "resnet20": resnet20,
    "lenet5": LeNet5,
}


def build_model(name: str, in_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """Instantiate a zoo model by name."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}") from None
    return factory(tuple(in_shape), num_classes)


def load_user_model(
    module_path: str,
    kwargs: Mapping[str, Any] | None = None,
    checkpoint: str | None = None,
) -> nn.Module:
    """Build a user's network from ``"package.module:Name"`` (a class or factory returning an
    ``nn.Module``) called with ``kwargs``; load a state_dict from ``checkpoint`` if given.

    The checkpoint is read with ``torch.load(weights_only=True)`` (tensors and plain
    containers only) and may be a bare state_dict or a dict holding one under ``"model"`` or
    ``"state_dict"`` (as :mod:`cimsweep.training.train` checkpoints do).
    """
    mod_name, sep, attr = module_path.partition(":")
    if not sep or not mod_name or not attr:
        raise ValueError(f"user model {module_path!r} must look like 'package.module:Name'")
    try:
        factory = getattr(importlib.import_module(mod_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import user model {module_path!r}: {exc}") from exc
    model = factory(**dict(kwargs or {}))
    if not isinstance(model, nn.Module):
        raise ValueError(f"{module_path} returned {type(model).__name__}, not a torch nn.Module")
    if checkpoint:
        try:
            state = torch.load(checkpoint, map_location="cpu", weights_only=True)
            if isinstance(state, dict):
                for key in ("model", "state_dict"):
                    if isinstance(state.get(key), dict):
                        state = state[key]
                        break
            model.load_state_dict(state)
        except Exception as exc:  # torch raises many types for corrupt or foreign files
            raise ValueError(
                f"{checkpoint}: cannot load weights into {module_path} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
    return model


# ---- which layers are mapped -----------------------------------------------------------------
DIGITAL_ATTR = "cim_digital_layers"


def replace_layer(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` in place of ``model``'s submodule at qualified name ``name``."""
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, new)


def _all_mappable(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def digital_layer_names(model: nn.Module, digital: str | Iterable[str]) -> frozenset[str]:
    """Names of the Conv2d/Linear layers of ``model`` kept digital (see :func:`digital_names`)."""
    return digital_names([n for n, _ in _all_mappable(model)], digital)


def set_digital_layers(model: nn.Module, digital: str | Iterable[str]) -> nn.Module:
    """Mark layers as digital (unmapped) on ``model``; :func:`cim_layers` then skips them."""
    setattr(model, DIGITAL_ATTR, digital_layer_names(model, digital))
    return model


def cim_layers(
    model: nn.Module, digital: str | Iterable[str] | None = None
) -> list[tuple[str, nn.Module]]:
    """The (qualified name, module) pairs of every layer mapped onto crossbars, in model order.

    Layers named by ``digital`` (see :func:`digital_layer_names`), or else those marked by
    :func:`set_digital_layers`, are left out; by default every Conv2d and Linear is mapped.
    """
    skip: Container[str]
    if digital is None:
        skip = getattr(model, DIGITAL_ATTR, frozenset())
    else:
        skip = digital_layer_names(model, digital)
    return [(n, m) for n, m in _all_mappable(model) if n not in skip]

"""Training parameters (the train stage and its modes)."""

from __future__ import annotations

from .base import NOISE_AWARE_MODES, TRAINING_MODES, Param, declare

PARAMS: list[Param] = [
    declare(
        "model",
        "str",
        "mlp",
        "train",
        "Network architecture (user: see user_model).",
        choices=("mlp", "cnn", "vgg8", "resnet18", "resnet20", "lenet5", "user"),
    ),
    declare(
        "user_model",
        "path",
        "",
        "train",
        "Network class or factory of model = user, as 'package.module:Name'.",
    ),
    declare(
        "user_checkpoint",
        "path",
        "",
        "train",
        "Optional state_dict loaded into the user model before training ('' for none).",
    ),
    declare(
        "user_model_kwargs",
        "path",
        "{}",
        "train",
        "Keyword arguments of the user model's class or factory, as a JSON object, e.g. "
        "'{\"width\": 64}'. Also settable as params.model = {module, kwargs, checkpoint}.",
    ),
    declare("epochs", "int", 40, "train", "Training epochs.", minimum=1, maximum=10000),
    declare(
        "lr",
        "float",
        2e-3,
        "train",
        "Adam learning rate.",
        minimum=0.0,
        exclusive_minimum=True,
        maximum=10.0,
    ),
    declare("batch_size", "int", 64, "train", "Training mini-batch size.", minimum=1),
    declare("weight_decay", "float", 1e-4, "train", "Adam weight decay.", minimum=0.0),
    declare(
        "optimizer",
        "str",
        "adam",
        "train",
        "Optimizer (all with a per-epoch cosine learning-rate schedule).",
        choices=("adam", "adamw", "sgd"),
    ),
    declare(
        "momentum",
        "float",
        0.9,
        "train",
        "SGD (Nesterov) momentum.",
        minimum=0.0,
        maximum=0.999,
    ),
    declare(
        "augment",
        "str",
        "auto",
        "train",
        "Training augmentation: random crop (4-px padding) + horizontal flip; auto = on "
        "for cifar10, cifar100 and imagefolder.",
        choices=("auto", "none", "crop_flip"),
    ),
    declare(
        "amp",
        "int",
        1,
        "train",
        "Mixed-precision training on CUDA (1 on, 0 off).",
        minimum=0,
        maximum=1,
    ),
    declare(
        "training",
        "str",
        "float",
        "train",
        "float: plain training (post-training quantization); qat: quantization-aware "
        "training of weights and inputs at weight_precision / input_precision "
        "(straight-through estimator); noise_aware: qat plus, in every training forward, "
        "output noise of the power the simulated crossbars add (read noise at train_noise, "
        "ADC rounding, from the simulator's mapping) and weight clipping (weight_clip).",
        choices=TRAINING_MODES,
    ),
    declare(
        "train_noise",
        "float",
        0.05,
        "",
        "Read-noise std injected by noise_aware training (same meaning as read_noise).",
        minimum=0.0,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "weight_clip",
        "float",
        2.5,
        "",
        "noise_aware training clips every crossbar layer's weights to +-weight_clip "
        "standard deviations of the layer's weights after each update (0: off), so the "
        "weights fill the quantization range and outweigh the read noise (Joshi et al. "
        "2020).",
        minimum=0.0,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "device",
        "str",
        "auto",
        "",
        "Training device (auto: CUDA when available); a run-time setting, not part of any "
        "result path or seed.",
        choices=("auto", "cpu", "cuda"),
    ),
]

"""Train a small MLP on scikit-learn's digits and evaluate it on simulated CIM hardware.

The library steps the workflow runs, without Snakemake: split the data, train, calibrate the
quantization ranges, and run Monte-Carlo noisy inference at two ADC precisions.
Run: ``python examples/02_evaluate_a_model.py`` (a few seconds on one core).
"""

from __future__ import annotations

import torch

from cimsweep.cim import evaluate
from cimsweep.data import prepare
from cimsweep.nn.models import build_model
from cimsweep.nn.quant import calibrate
from cimsweep.training.train import train_model
from cimsweep.workflow.stages import InferValues


def main() -> dict[str, float]:
    """Float accuracy and mean simulated accuracy (fractions) per ADC precision."""
    torch.set_num_threads(1)  # a small model: one thread is fastest
    arrays = prepare("digits", test_fraction=0.2, seed=0)
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    torch.manual_seed(0)
    model = build_model("mlp", tuple(x_train.shape[1:]), 10)
    metrics = train_model(
        model, x_train, y_train, x_test, y_test,
        epochs=3, lr=2e-3, batch_size=64, weight_decay=0.0, seed=0, amp=False,
    )  # fmt: skip
    model.eval()
    out = {"float": float(metrics["test_accuracy"])}
    print(f"float accuracy {out['float']:.3f}")

    x_calib = torch.from_numpy(x_train[:256])
    for bits in (3, 6):
        hw = InferValues(adc_precision=bits, read_noise=0.05, mc_runs=2)
        ranges = calibrate(
            model,
            x_calib,
            input_precision=hw.input_precision,
            weight_precision=hw.weight_precision,
            input_method=hw.input_calib_method,
            weight_method=hw.weight_calib_method,
            percentile=hw.calib_percentile,
        )
        result = evaluate(
            model,
            ranges,
            torch.from_numpy(x_test),
            torch.from_numpy(y_test),
            hw.as_dict(),
            seed=0,
            x_calib=x_calib,
        )
        out[f"adc{bits}"] = result["accuracy_mean"]
        print(f"{bits}-bit ADC: accuracy {result['accuracy_mean']:.3f}")
    return out


if __name__ == "__main__":
    main()

"""The network CSV and the weight/input trace files NeuroSim V1.4's ``main`` reads.

Formats (as written by NeuroSim V1.4's ``Inference_pytorch/utee/hook.py``):

- network CSV, one line per crossbar layer: ``IFM_H,IFM_W,C_in,k_h,k_w,C_out,pool,stride``
  (``pool`` = 1 when a 2x2 pooling follows the layer);
- weight file: the ``(k*k*C_in) x C_out`` matrix of quantized weights on NeuroSim's grid
  (multiples of 2^-(bits-1) in [-1, 1)), ``%10.5f``, comma separated;
- input file: one row per crossbar row (``k*k*C_in`` or ``in_features``) and ``bits`` columns
  per input vector (output pixel), the two's-complement bits of each input MSB first, as
  ``0``/``1`` characters, comma separated.

Pure numpy: the caller supplies the arrays (im2col-unfolded inputs, weight matrices).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NetLayer:
    """One line of NeuroSim's network CSV (sizes in pixels/channels)."""

    ifm_h: int
    ifm_w: int
    c_in: int
    k_h: int
    k_w: int
    c_out: int
    pool: int
    stride: int

    def line(self) -> str:
        """The CSV line."""
        return ",".join(
            str(int(x))
            for x in (
                self.ifm_h,
                self.ifm_w,
                self.c_in,
                self.k_h,
                self.k_w,
                self.c_out,
                self.pool,
                self.stride,
            )
        )


def write_network_csv(path: str | os.PathLike[str], layers: Sequence[NetLayer]) -> None:
    """Write NeuroSim's network description (one line per layer, ``\\n`` ended)."""
    with open(path, "w", newline="") as fh:
        fh.write("".join(layer.line() + "\n" for layer in layers))


def weight_grid(w: np.ndarray, bits: int) -> np.ndarray:
    """Weights scaled by their largest magnitude onto NeuroSim's grid: integer codes in
    [-(2^(bits-1) - 1), 2^(bits-1) - 1] times 2^-(bits-1)."""
    w = np.asarray(w, dtype=np.float64)
    top = float(np.max(np.abs(w))) or 1.0
    qmax = 2 ** (bits - 1) - 1
    codes = np.clip(np.round(w / top * qmax), -qmax, qmax)
    return codes / 2 ** (bits - 1)


def weight_matrix(weight: np.ndarray) -> np.ndarray:
    """A torch-layout weight (``C_out x C_in x k x k`` or ``out x in``) as NeuroSim's
    ``rows x C_out`` matrix (rows in ``C_in, k_h, k_w`` order)."""
    return np.asarray(weight).reshape(weight.shape[0], -1).T


def write_weight_file(path: str | os.PathLike[str], matrix: np.ndarray) -> None:
    """Write a ``rows x cols`` weight matrix (values already on NeuroSim's grid)."""
    np.savetxt(path, np.asarray(matrix, dtype=np.float64), delimiter=",", fmt="%10.5f")


def input_codes(x: np.ndarray, bits: int) -> np.ndarray:
    """Signed integer codes of activations, scaled by their largest magnitude to
    [-2^(bits-1), 2^(bits-1) - 1] (NeuroSim's input grid is these codes times 2^-(bits-1))."""
    x = np.asarray(x, dtype=np.float64)
    top = float(np.max(np.abs(x))) or 1.0
    qmax = 2 ** (bits - 1) - 1
    return np.clip(np.round(x / top * qmax), -(2 ** (bits - 1)), qmax).astype(np.int64)


def input_bits_text(codes: np.ndarray, bits: int) -> str:
    """The input trace text of a ``rows x vectors`` code matrix: per row, for each vector its
    ``bits`` two's-complement bits MSB first, ``0``/``1`` comma separated, ``\\n`` ended."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim == 1:
        codes = codes[:, None]
    unsigned = np.mod(codes, 2**bits)
    shifts = np.arange(bits - 1, -1, -1)
    planes = (unsigned[:, :, None] >> shifts) & 1  # rows x vectors x bits
    flat = planes.reshape(codes.shape[0], -1).astype(np.uint8) + ord("0")
    sep = np.full_like(flat, ord(","))
    sep[:, -1] = ord("\n")
    return np.stack([flat, sep], axis=2).reshape(-1).tobytes().decode("ascii")


def write_input_file(path: str | os.PathLike[str], codes: np.ndarray, bits: int) -> None:
    """Write the input trace of a ``rows x vectors`` code matrix (see :func:`input_bits_text`)."""
    with open(path, "w", newline="") as fh:
        fh.write(input_bits_text(codes, bits))


def trace_stats(codes: np.ndarray, bits: int) -> dict[str, float]:
    """Statistics of an input trace: fraction of 1 bits and of zero inputs."""
    codes = np.asarray(codes, dtype=np.int64)
    unsigned = np.mod(codes, 2**bits)
    ones = sum(int(np.sum((unsigned >> b) & 1)) for b in range(bits))
    return {
        "one_bit_fraction": ones / max(1, codes.size * bits),
        "zero_fraction": float(np.mean(codes == 0)) if codes.size else 0.0,
    }

"""The weight/input trace files NeuroSim V1.5-dev's ``main`` reads: one integer per entry.

V1.5's Python backbone (``pytorch_quantization/cim/modules/macro.py``) writes, for each
crossbar layer, the integer operands of the layer's matrix product as it is about to map them:

- both operands are shifted to be non-negative (inputs by ``-min(inputs)``, weights by
  ``-min(weights)``) and each gets one extra entry that lets the array undo the shift: a dummy
  input vector filled with the input shift, a dummy weight column filled with the weight shift;
- input file: ``rows x (vectors + 1)`` (one row per crossbar row, one column per input vector,
  the dummy vector last), weight file: ``rows x (C_out + 1)`` (dummy column last);
- plain decimal integers, comma separated, ``\\n`` ended (``numpy.savetxt(fmt="%s")`` of an
  int32 matrix). ``main`` splits each input integer into its ``numBitInput`` bits itself, and
  maps each weight integer through ``Param.cpp``'s ``algoWeightMax/Min``.

The network CSV and the command line are V1.4's (see :mod:`.traces`). Pure numpy.
"""

from __future__ import annotations

import os

import numpy as np


def weight_codes(grid: np.ndarray, bits: int) -> np.ndarray:
    """Signed integer weight codes of a matrix on NeuroSim's grid (multiples of
    ``2^-(bits-1)``, :func:`cimsweep.ppa.neurosim.traces.weight_grid`)."""
    return np.rint(np.asarray(grid, dtype=np.float64) * 2 ** (bits - 1)).astype(np.int64)


def shifted_operands(inputs: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The V1.5 file matrices of one layer: ``inputs`` (``rows x vectors`` signed codes of one
    image) and ``weights`` (``rows x C_out`` signed codes) shifted to be non-negative, with the
    dummy input vector and dummy weight column appended (see the module docstring)."""
    x = np.asarray(inputs, dtype=np.int64)
    if x.ndim == 1:
        x = x[:, None]
    w = np.asarray(weights, dtype=np.int64)
    if x.shape[0] != w.shape[0]:
        raise ValueError(f"inputs have {x.shape[0]} rows, weights {w.shape[0]}")
    sx, sw = -int(x.min()), -int(w.min())
    x_file = np.concatenate([x + sx, np.full((x.shape[0], 1), sx, dtype=np.int64)], axis=1)
    w_file = np.concatenate([w + sw, np.full((w.shape[0], 1), sw, dtype=np.int64)], axis=1)
    return x_file, w_file


def integer_text(matrix: np.ndarray) -> str:
    """A 2-D integer matrix as comma-separated decimal rows, each ``\\n`` ended."""
    m = np.asarray(matrix, dtype=np.int64)
    if m.ndim == 1:
        m = m[:, None]
    return "".join(",".join(map(str, row)) + "\n" for row in m.tolist())


def write_integer_file(path: str | os.PathLike[str], matrix: np.ndarray) -> None:
    """Write :func:`integer_text` of ``matrix`` to ``path``."""
    with open(path, "w", newline="") as fh:
        fh.write(integer_text(matrix))


def write_layer_files(
    weight_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str],
    weights_grid: np.ndarray,
    input_codes: np.ndarray,
    weight_bits: int,
) -> None:
    """Write one layer's V1.5 weight and input files from a :class:`LayerTrace`'s arrays
    (weights on NeuroSim's grid, ``rows x vectors`` signed input codes)."""
    x_file, w_file = shifted_operands(input_codes, weight_codes(weights_grid, weight_bits))
    write_integer_file(weight_path, w_file)
    write_integer_file(input_path, x_file)

"""One shared figure style: Okabe-Ito colours, a marker per model, print-sized fonts.

Figures are laid out for a 6.3-inch text width (``TEXT_WIDTH``) with constrained layout, so
they can be included at 100 % scale and the fonts keep their nominal size (7-9 pt).
"""

from __future__ import annotations

import functools
import io
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from cimsweep.io import write_with
from cimsweep.workflow.params import PARAMS

TEXT_WIDTH = 6.3  # inches
DPI = 300

# Okabe & Ito (2008) colour-blind-safe palette, ordered for line plots on white: yellow last.
OKABE_ITO: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "bluish_green": "#009E73",
    "orange": "#E69F00",
    "reddish_purple": "#CC79A7",
    "sky_blue": "#56B4E9",
    "black": "#000000",
    "yellow": "#F0E442",
}
PALETTE: tuple[str, ...] = tuple(OKABE_ITO.values())
NEUTRAL = "#7F7F7F"
HIGHLIGHT = OKABE_ITO["vermillion"]
SEQUENTIAL_CMAP = "cividis"  # perceptually uniform and colour-vision-deficiency safe

MODEL_MARKERS: dict[str, str] = {"mlp": "o", "cnn": "s"}
_EXTRA_MARKERS = ("^", "D", "v", "P", "X", "<", ">")
MODEL_LINESTYLES: dict[str, str] = {"mlp": "-", "cnn": "--"}
_EXTRA_LINESTYLES = ("-.", ":")

# The six PPA components, coloured consistently in every breakdown.
COMPONENT_COLORS: dict[str, str] = {
    "array": OKABE_ITO["blue"],
    "adc": OKABE_ITO["vermillion"],
    "accumulation": OKABE_ITO["bluish_green"],
    "buffer": OKABE_ITO["orange"],
    "interconnect": OKABE_ITO["sky_blue"],
    "other": "#BBBBBB",
}
COMPONENT_LABELS: dict[str, str] = {
    "array": "Array",
    "adc": "ADC",
    "accumulation": "Shift-add / accum.",
    "buffer": "Buffers",
    "interconnect": "Interconnect",
    "other": "Other",
}

RC: dict[Any, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "mathtext.fontset": "dejavusans",
    "font.size": 8,
    "axes.titlesize": 8.5,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "legend.frameon": False,
    "figure.titlesize": 9,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.linewidth": 0.4,
    "grid.alpha": 0.35,
    "axes.prop_cycle": cycler(color=list(PALETTE)),
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "errorbar.capsize": 1.5,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "figure.dpi": 100,
    "savefig.dpi": DPI,
    "figure.constrained_layout.use": True,
    "figure.constrained_layout.h_pad": 0.03,
    "figure.constrained_layout.w_pad": 0.03,
    "pdf.fonttype": 42,  # embed TrueType (editable text, accepted by publishers)
    "ps.fonttype": 42,
    "svg.fonttype": "none",
}

F = TypeVar("F", bound=Callable[..., Any])


def styled(func: F) -> F:
    """Run a figure function under the shared rcParams (leaves global state untouched)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with mpl.rc_context(RC):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def figsize(height: float, width: float = TEXT_WIDTH) -> tuple[float, float]:
    """Figure size in inches at the full text width."""
    return (width, height)


def _write_bytes(tmp: Path, data: bytes) -> None:
    tmp.write_bytes(data)


def save_figure(
    fig: Figure, pdf_path: str | os.PathLike[str], png_path: str | os.PathLike[str]
) -> None:
    """Write ``fig`` as a vector PDF and a 300-dpi PNG, reproducibly.

    Both are rendered in memory first and then each moved into place atomically: a figure that
    fails to render leaves the previous PDF and PNG untouched.
    """
    rendered = []
    with mpl.rc_context(RC):
        for fmt, extra in (
            ("pdf", {"metadata": {"CreationDate": None}}),
            ("png", {"dpi": DPI, "metadata": {"Software": None}}),
        ):
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, **extra)
            rendered.append(buf.getvalue())
    for path, data in zip((pdf_path, png_path), rendered, strict=True):
        write_with(path, functools.partial(_write_bytes, data=data))


# --- consistent encodings ---------------------------------------------------------------------


def model_marker(model: str) -> str:
    """Marker of a model: fixed for the zoo, deterministic for anything else."""
    if model in MODEL_MARKERS:
        return MODEL_MARKERS[model]
    return _EXTRA_MARKERS[sum(map(ord, model)) % len(_EXTRA_MARKERS)]


def model_linestyle(model: str) -> str:
    """Line style of a model (so lines stay distinguishable in greyscale)."""
    if model in MODEL_LINESTYLES:
        return MODEL_LINESTYLES[model]
    return _EXTRA_LINESTYLES[sum(map(ord, model)) % len(_EXTRA_LINESTYLES)]


def sort_values(name: str, values: Iterable[Any]) -> list[Any]:
    """Distinct values of a parameter in natural order (subarrays by rows then cols)."""
    distinct = list(dict.fromkeys(v for v in values if not _isnan(v)))
    p = PARAMS.get(name)
    if p is not None and p.kind == "shape":
        return sorted(distinct, key=lambda s: tuple(int(t) for t in str(s).split("x")))
    if name == "training" and p is not None and set(distinct) <= set(p.choices):
        return sorted(distinct, key=p.choices.index)  # float, qat, noise_aware
    try:
        return sorted(distinct)
    except TypeError:
        return sorted(distinct, key=str)


def value_colors(name: str, values: Iterable[Any]) -> dict[Any, str]:
    """Colour per value of one axis: Okabe-Ito in natural order, a sequential map beyond 7."""
    ordered = sort_values(name, values)
    if len(ordered) <= len(PALETTE) - 1:  # keep yellow out of lines
        return {v: PALETTE[i] for i, v in enumerate(ordered)}
    cmap = mpl.colormaps[SEQUENTIAL_CMAP]
    return {
        v: mpl.colors.to_hex(cmap(x))
        for v, x in zip(ordered, np.linspace(0, 0.9, len(ordered)), strict=True)
    }


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


# --- labels -----------------------------------------------------------------------------------

PARAM_LABELS: dict[str, str] = {
    "adc_precision": "ADC precision (bit)",
    "sub_array": "Subarray size (rows × cols)",
    "read_noise": "Read noise σ (rel. to level range)",
    "prog_noise": "Programming noise σ (rel. to level range)",
    "output_noise": "Output noise σ (LSB)",
    "t": "Retention time since programming",
    "v": "Drift coefficient ν",
    "weight_precision": "Weight precision (bit)",
    "input_precision": "Input precision (bit)",
    "bitcell": "Bits per cell",
    "dac_precision": "DAC precision (bit)",
    "tech_node": "Technology node (nm)",
    "adc_type": "ADC type",
    "mem_type": "Memory cell",
    "parallel_read": "Rows read in parallel",
    "column_mux": "Columns per ADC (mux)",
    "training": "Training",
    "train_noise": "Training read noise σ (rel. to level range)",
}

TRAINING_LABELS: dict[str, str] = {
    "float": "Float training (PTQ)",
    "qat": "Quantization-aware",
    "noise_aware": "Noise-aware",
}

_SHORT: dict[str, str] = {
    "adc_precision": "ADC {v} b",
    "weight_precision": "W {v} b",
    "input_precision": "In {v} b",
    "dac_precision": "DAC {v} b",
    "bitcell": "{v} b/cell",
    "read_noise": r"$\sigma_\mathrm{{read}}$ = {v}",
    "prog_noise": r"$\sigma_\mathrm{{prog}}$ = {v}",
    "output_noise": r"$\sigma_\mathrm{{out}}$ = {v} LSB",
    "rate_stuck_0": "SA0 = {v}",
    "rate_stuck_1": "SA1 = {v}",
    "v": "ν = {v}",
    "tech_node": "{v} nm",
    "column_mux": "mux {v}",
    "parallel_read": "{v} rows/read",
    "mc_runs": "{v} MC runs",
    "train_noise": r"$\sigma_\mathrm{{train}}$ = {v}",
}

TIME_UNITS: tuple[tuple[str, float], ...] = (
    ("s", 1.0),
    ("min", 60.0),
    ("h", 3600.0),
    ("d", 86400.0),
    ("mo", 86400.0 * 365.25 / 12),
    ("yr", 86400.0 * 365.25),
)


def param_label(name: str) -> str:
    """Axis label of a parameter, with its unit."""
    if name in PARAM_LABELS:
        return PARAM_LABELS[name]
    p = PARAMS.get(name)
    text = name.replace("_", " ").capitalize()
    return f"{text} ({p.unit})" if p is not None and p.unit else text


def human_time(seconds: float) -> str:
    """Compact duration: ``1 s``, ``1 h``, ``2.5 d``, ``1 mo``, ``10 yr``."""
    unit, scale = TIME_UNITS[0]
    for u, s in TIME_UNITS:
        if seconds >= s * 0.999:
            unit, scale = u, s
    return f"{seconds / scale:.2g} {unit}".replace("e+0", "e")


def fmt_number(v: Any) -> str:
    """Short number text: integers without a decimal point, floats in ``%.3g``."""
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.3g}"
    return str(v)


def value_text(name: str, value: Any) -> str:
    """Short annotation of one parameter value, e.g. ``ADC 5 b``, ``128×128``, ``t = 1 d``."""
    p = PARAMS.get(name)
    if name == "model":
        return str(value).upper()
    if p is not None and p.kind == "shape":
        return str(value).replace("x", "×")
    if name == "t":
        return f"t = {human_time(float(value))}"
    if name == "training":
        return TRAINING_LABELS.get(str(value), str(value))
    if name == "output_noise" and value == -1:
        return r"$\sigma_\mathrm{out}$ from file"
    if name in _SHORT:
        return _SHORT[name].format(v=fmt_number(value))
    if p is not None and p.kind == "str":
        return str(value)
    unit = f" {p.unit}" if p is not None and p.unit and p.unit != "S|F" else ""
    return f"{name} = {fmt_number(value)}{unit}"


def config_text(row: Any, names: Sequence[str], per_line: int = 2) -> str:
    """Label of one configuration from the values of ``names`` (a few per line)."""
    parts = [value_text(n, row[n]) for n in names]
    lines = [", ".join(parts[i : i + per_line]) for i in range(0, len(parts), per_line)]
    return "\n".join(lines)


# --- axes helpers -----------------------------------------------------------------------------

SI_PREFIXES: tuple[tuple[int, str], ...] = (
    (-15, "f"),
    (-12, "p"),
    (-9, "n"),
    (-6, "µ"),
    (-3, "m"),
    (0, ""),
    (3, "k"),
    (6, "M"),
    (9, "G"),
)


def si_scale(values: Iterable[float], unit: str, log: bool = False) -> tuple[float, str]:
    """Factor and prefixed unit for plotting: the largest value lands in [1, 1000), or on a log
    axis the geometric middle of the range does (so tick labels stay near 1)."""
    arr = np.asarray([v for v in values if np.isfinite(v) and v > 0], dtype=float)
    if arr.size == 0:
        return 1.0, unit
    ref = math.sqrt(arr.min() * arr.max()) if log else arr.max()
    exp = int(math.floor(math.log10(ref) / 3) * 3)
    exp = min(max(exp, SI_PREFIXES[0][0]), SI_PREFIXES[-1][0])
    prefix = dict(SI_PREFIXES)[exp]
    return 10.0**-exp, f"{prefix}{unit}"


def spans_decades(values: Iterable[float], ratio: float = 10.0) -> bool:
    """True when positive finite values span at least ``ratio`` (log axis advisable)."""
    arr = np.asarray([v for v in values if np.isfinite(v) and v > 0], dtype=float)
    return arr.size > 1 and arr.max() / arr.min() >= ratio


def plain_log_axis(axis: Axis) -> None:
    """Log-axis ticks as plain numbers (0.1, 1, 10) with 2/5 minor labels on short spans."""
    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(fmt)
    lo, hi = sorted(axis.get_view_interval())
    if lo > 0 and hi / lo < 100:
        axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
        axis.set_minor_formatter(fmt)
    else:
        axis.set_minor_formatter(NullFormatter())


def percent(values: Any) -> Any:
    """Fractions to percent."""
    return np.asarray(values, dtype=float) * 100.0

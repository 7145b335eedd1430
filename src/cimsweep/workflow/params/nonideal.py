"""Simulator-only device and circuit non-idealities."""

from __future__ import annotations

from .base import NOISE_AWARE_MODES, SIM, Param, declare

PARAMS: list[Param] = [
    declare(
        "adc_range",
        "str",
        "full",
        SIM,
        "ADC input range: full scale of the column, calibrated (clipped) range, or tuned "
        "(calibrated range scaled per layer to minimise its output error).",
        choices=("full", "calibrated", "tuned"),
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "read_noise",
        "float",
        0.0,
        SIM,
        "Std of conductance read noise, relative to the level range (fresh every read).",
        minimum=0.0,
    ),
    declare(
        "output_noise",
        "float",
        0.0,
        SIM,
        "Std of column-output noise before the ADC, in ADC LSB; -1 takes per-level "
        "statistics from output_noise_file instead (NeuroSim's convention).",
        unit="LSB",
        minimum=-1.0,
    ),
    declare(
        "output_noise_file",
        "path",
        "",
        SIM,
        "CSV of per-level column-output statistics, used where output_noise = -1: header "
        "level,mean,std, one row per level, levels strictly increasing, std >= 0. level is "
        "the noise-free column output in unit products (one DAC input step times one cell "
        "level step, (on_state - off_state) / (2**bitcell - 1); the off-state baseline "
        "included), mean the measured mean output at that level and std its spread (both "
        "in unit products). Each read gets offset mean - level and Gaussian noise of "
        "std, interpolated linearly on its noise-free value (held constant beyond the "
        "first and last rows), before the ADC.",
    ),
    declare(
        "prog_noise",
        "float",
        0.0,
        SIM,
        "Std of programming variation, relative to the level range (fixed per chip).",
        minimum=0.0,
    ),
    declare(
        "rate_stuck_0",
        "float",
        0.0,
        SIM,
        "Fraction of cells stuck at the off state.",
        minimum=0.0,
        maximum=1.0,
    ),
    declare(
        "rate_stuck_1",
        "float",
        0.0,
        SIM,
        "Fraction of cells stuck at the on state.",
        minimum=0.0,
        maximum=1.0,
    ),
    declare(
        "t",
        "float",
        1.0,
        SIM,
        "Retention time since programming (t0 = 1 s).",
        unit="s",
        minimum=1.0,
    ),
    declare(
        "v",
        "float",
        0.0,
        SIM,
        "Retention drift coefficient (drift_model = pcm: the mean drift exponent nu).",
        minimum=0.0,
    ),
    declare(
        "drift_model",
        "str",
        "neurosim",
        SIM,
        "Retention law. neurosim: normalised level n * t**(v * s) clamped to [0, 1] (see "
        "detect, target); pcm: power law G(t) = G(t0) * (t / t0)**(-nu) on the conductance "
        "(off-state included, t0 = 1 s), nu per device ~ N(v, nu_std) clipped at 0 (Joshi "
        "et al. 2020).",
        choices=("neurosim", "pcm"),
    ),
    declare(
        "nu_std",
        "float",
        0.0,
        SIM,
        "Device-to-device std of the PCM drift exponent nu (drift_model = pcm).",
        minimum=0.0,
    ),
    declare(
        "drift_compensation",
        "int",
        0,
        SIM,
        "Global drift compensation (Joshi et al. 2020), 1 on, 0 off: per read group and "
        "weight slice, the digital outputs are scaled by the ratio of the column sums of an "
        "all-ones calibration read at t0 (stored at programming) and at read time t.",
        minimum=0,
        maximum=1,
    ),
    declare(
        "detect",
        "int",
        0,
        SIM,
        "Drift direction: 0 random (+1/0/-1 per cell), 1 toward target.",
        minimum=0,
        maximum=1,
    ),
    declare(
        "target",
        "float",
        0.0,
        SIM,
        "Normalised target level for detect = 1.",
        minimum=0.0,
        maximum=1.0,
    ),
    declare(
        "mc_runs",
        "int",
        3,
        SIM,
        "Monte-Carlo chip instances per grid point.",
        minimum=1,
        maximum=1000,
    ),
]

"""Simulator-only device and circuit non-idealities."""

from __future__ import annotations

from .base import NOISE_AWARE_MODES, SIM, Param, declare

PARAMS: list[Param] = [
    declare(
        "adc_range",
        "str",
        "full",
        SIM,
        "ADC input range: full scale of the column, calibrated (clipped) range, tuned "
        "(calibrated range scaled per layer to minimise its output error), or unit "
        "(NeuroSim V1.5: a step of one unit product, reads clipped to [0, 2**adc_precision], "
        "2**adc_precision + 1 codes; adc_precision is a clip level, not a step size).",
        choices=("full", "calibrated", "tuned", "unit"),
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "read_noise",
        "float",
        0.0,
        SIM,
        "Std of conductance read noise: relative to the level range (read_noise_model = "
        "additive) or to each cell's own conductance (multiplicative).",
        minimum=0.0,
    ),
    declare(
        "read_noise_model",
        "str",
        "additive",
        SIM,
        "Read-noise law per cell: additive, read_noise * (on_state - off_state) on every "
        "cell; multiplicative (NeuroSim V1.5), read_noise * G of each cell, so off cells are "
        "quieter at a finite on/off ratio (with off_current = subtract the off-state "
        "reference cell of each row adds its own read_noise * off_state).",
        choices=("additive", "multiplicative"),
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "read_noise_resample",
        "str",
        "read",
        SIM,
        "When read noise is drawn: read, fresh for every read of every input vector; "
        "forward, once per forward call as a perturbation of the cells shared by the batch "
        "and every input slice; cycle (NeuroSim V1.5), once per forward call and input "
        "slice (DAC cycle), shared by the batch. multiplicative needs forward or cycle.",
        choices=("read", "forward", "cycle"),
        train_modes=NOISE_AWARE_MODES,
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
        "output_noise_mode",
        "str",
        "additive",
        SIM,
        "How output noise combines with the cells' non-idealities: additive, on top of "
        "programming variation, drift and read noise; exclusive (NeuroSim V1.5), when "
        "output_noise is nonzero the column reads the nominal integer levels (no "
        "programming variation, drift, read noise or off-state baseline; stuck cells stay) "
        "plus output noise.",
        choices=("additive", "exclusive"),
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
        "et al. 2020); neurosim_conductance (NeuroSim V1.5's code): the neurosim law on the "
        "conductance, off-state baseline included, clamped to [off_state, on_state].",
        choices=("neurosim", "pcm", "neurosim_conductance"),
    ),
    declare(
        "drift_resample",
        "str",
        "instance",
        SIM,
        "When retention drift is drawn: instance, once per chip instance; read (NeuroSim "
        "V1.5), afresh at every forward call and input slice, from the programmed levels, "
        "so it acts like extra read noise.",
        choices=("instance", "read"),
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

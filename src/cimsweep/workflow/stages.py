"""Typed values of each workflow stage: one frozen dataclass per stage.

Generated from src/cimsweep/workflow/params/ by ``python -m cimsweep.workflow.stagegen``;
do not edit. Build one with ``InferValues.from_values(mapping)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from cimsweep.workflow.stagebase import StageValues

__all__ = ["DataValues", "TrainValues", "CalibValues", "InferValues", "PpaValues", "STAGE_VALUES"]


@dataclass(frozen=True, kw_only=True)
class DataValues(StageValues):
    """Values the ``data`` stage's step reads."""

    stage: ClassVar[str] = "data"

    dataset: str = "digits"
    """Data set name. One of: digits, mnist, fashion_mnist, cifar10, cifar100, imagefolder."""

    image_size: int = 32
    """Side of the square images the imagefolder reader resizes to. Unit: px. Range: >= 8, <= 1024.
    """

    test_fraction: float = 0.2
    """Fraction of samples held out for testing (stratified). Range: > 0, <= 0.9."""

    seed: int = 0
    """Root seed of every random stream. Range: >= 0, <= 9.22337e+18."""


@dataclass(frozen=True, kw_only=True)
class TrainValues(DataValues):
    """Values the ``train`` stage's step reads: those of :class:`DataValues` and the following."""

    stage: ClassVar[str] = "train"

    model: str = "mlp"
    """Network architecture (user: see user_model). One of: mlp, cnn, vgg8, resnet18, resnet20,
    lenet5, user.
    """

    user_model: str = ""
    """Network class or factory of model = user, as 'package.module:Name'."""

    user_checkpoint: str = ""
    """Optional state_dict loaded into the user model before training ('' for none)."""

    user_model_kwargs: str = "{}"
    """Keyword arguments of the user model's class or factory, as a JSON object, e.g. '{"width":
    64}'. Also settable as params.model = {module, kwargs, checkpoint}.
    """

    epochs: int = 40
    """Training epochs. Range: >= 1, <= 10000."""

    lr: float = 0.002
    """Adam learning rate. Range: > 0, <= 10."""

    batch_size: int = 64
    """Training mini-batch size. Range: >= 1."""

    weight_decay: float = 0.0001
    """Adam weight decay. Range: >= 0."""

    optimizer: str = "adam"
    """Optimizer (all with a per-epoch cosine learning-rate schedule). One of: adam, adamw, sgd."""

    momentum: float = 0.9
    """SGD (Nesterov) momentum. Range: >= 0, <= 0.999."""

    augment: str = "auto"
    """Training augmentation: random crop (4-px padding) + horizontal flip; auto = on for cifar10,
    cifar100 and imagefolder. One of: auto, none, crop_flip.
    """

    amp: int = 1
    """Mixed-precision training on CUDA (1 on, 0 off). Range: >= 0, <= 1."""

    training: str = "float"
    """float: plain training (post-training quantization); qat: quantization-aware training of
    weights and inputs at weight_precision / input_precision (straight-through estimator);
    noise_aware: qat plus, in every training forward, output noise of the power the simulated
    crossbars add (read noise at train_noise, ADC rounding, from the simulator's mapping) and
    weight clipping (weight_clip). One of: float, qat, noise_aware.
    """

    train_noise: float | None = None
    """Read-noise std injected by noise_aware training (same meaning as read_noise). Range: >= 0.
    Training reads it in modes: noise_aware.
    """

    weight_clip: float | None = None
    """noise_aware training clips every crossbar layer's weights to +-weight_clip standard
    deviations of the layer's weights after each update (0: off), so the weights fill the
    quantization range and outweigh the read noise (Joshi et al. 2020). Range: >= 0. Training
    reads it in modes: noise_aware.
    """

    preset: str | None = None
    """Semantics preset: cimsweep (this tool's defaults) or neurosim_v1.5 (DNN+NeuroSim V1.5's
    meanings: adc_range unit, multiplicative read noise per DAC cycle, offset mapping with a
    layer dummy column, dummy-row inputs, symmetric inputs, per-channel weights, max calibration,
    first layer digital, off current subtracted, drift per read, exclusive output noise). Keys
    given explicitly override it; the effective values are recorded (cimsweep.workflow.presets).
    One of: cimsweep, neurosim_v1.5. Training reads it in modes: qat, noise_aware.
    """

    weight_precision: int | None = None
    """Weight bits (signed). Unit: bit. Range: >= 2, <= 16. Training reads it in modes: qat,
    noise_aware.
    """

    input_precision: int | None = None
    """Input (activation) bits. Unit: bit. Range: >= 1, <= 16. Training reads it in modes: qat,
    noise_aware.
    """

    input_quant: str | None = None
    """Input quantization: asymmetric, 2**input_precision codes over [input_min, input_max] with a
    zero point; symmetric (NeuroSim V1.5), signed codes of +-(2**(input_precision - 1) - 1) steps
    of max(|input_min|, |input_max|), shifted by the range's lowest code (0 after a ReLU: one bit
    fewer). One of: asymmetric, symmetric. Training reads it in modes: qat, noise_aware.
    """

    weight_quant_axis: str | None = None
    """Weight scale: tensor, one per layer (weight_max); channel (NeuroSim V1.5), one per output
    channel, each at its own max |w| times weight_max / max |w| of the layer (so
    weight_calib_method = max gives each channel its max). One of: tensor, channel. Training
    reads it in modes: qat, noise_aware.
    """

    input_calib_method: str | None = None
    """How activation ranges are chosen (histogram: TensorRT entropy/KL calibration). One of: max,
    percentile, mse, histogram. Training reads it in modes: qat, noise_aware.
    """

    weight_calib_method: str | None = None
    """How weight ranges are chosen (histogram: TensorRT entropy/KL calibration). One of: max,
    percentile, mse, histogram. Training reads it in modes: qat, noise_aware.
    """

    calib_percentile: float | None = None
    """Percentile of |x| used by the percentile method. Unit: %. Range: >= 50, <= 100. Training
    reads it in modes: qat, noise_aware.
    """

    digital_layers: str | None = None
    """Conv2d/Linear layers kept digital (not mapped onto crossbars). One of: none, first, last,
    first_last. Training reads it in modes: qat, noise_aware.
    """

    sub_array: tuple[int, int] | None = None
    """Subarray size: rows x cols (a single integer means square). Training reads it in modes:
    noise_aware.
    """

    parallel_read: int | None = None
    """Rows activated at once per ADC read; 0 means all rows of the subarray. Range: >= 0. Training
    reads it in modes: noise_aware.
    """

    bitcell: int | None = None
    """Bits stored per memory cell. Unit: bit. Range: >= 1, <= 8. Training reads it in modes:
    noise_aware.
    """

    dac_precision: int | None = None
    """Input bits applied per cycle (1 = bit-serial). Unit: bit. Range: >= 1, <= 16. Training reads
    it in modes: noise_aware.
    """

    adc_precision: int | None = None
    """ADC resolution. Unit: bit. Range: >= 1, <= 16. Training reads it in modes: noise_aware."""

    signed_mapping: str | None = None
    """Signed weights: differential array pair, or offset mapping with a reference column. One of:
    differential, offset. Training reads it in modes: noise_aware.
    """

    offset_reference: str | None = None
    """signed_mapping = offset: tile, codes shifted by 2**(weight_precision - 1) with a reference
    column of that value in every subarray; layer (NeuroSim V1.5), codes shifted by the layer's
    -min(q_w) (0 when no code is negative) with one dummy column of that value per layer, read
    through the ADC like the others; digital (ISAAC's bias; NeuroSim V1.4's C++ layout), codes
    shifted by 2**(weight_precision - 1), no reference column, the shift times the input sum
    subtracted after the ADC. One of: tile, layer, digital. Training reads it in modes:
    noise_aware.
    """

    input_offset: str | None = None
    """Removal of the input zero point (signed inputs): digital, z * sum_i q_w[i, col] subtracted
    exactly; dummy_row (NeuroSim V1.5), one extra input vector of z read through the crossbar and
    ADC (it clips and picks up noise) and subtracted. One of: digital, dummy_row. Training reads
    it in modes: noise_aware.
    """

    off_current: str | None = None
    """Off-state current of the cells: adc_range, carried in the column sum and the ADC range;
    subtract (NeuroSim V1.5), removed in analog by an off-state reference cell per row before the
    ADC. One of: adc_range, subtract. Training reads it in modes: noise_aware.
    """

    mem_type: str | None = None
    """Cell kind: resistive (conductance, S) or capacitive (capacitance, F). One of: resistive,
    capacitive. Training reads it in modes: noise_aware.
    """

    on_state: float | None = None
    """Highest cell level (S or F). Unit: S|F. Range: > 0. Training reads it in modes: noise_aware.
    """

    off_state: float | None = None
    """Lowest cell level (S or F). Unit: S|F. Range: >= 0. Training reads it in modes: noise_aware.
    """

    adc_range: str | None = None
    """ADC input range: full scale of the column, calibrated (clipped) range, tuned (calibrated
    range scaled per layer to minimise its output error), or unit (NeuroSim V1.5: a step of one
    unit product, reads clipped to [0, 2**adc_precision], 2**adc_precision + 1 codes;
    adc_precision is a clip level, not a step size). One of: full, calibrated, tuned, unit.
    Training reads it in modes: noise_aware.
    """

    read_noise_model: str | None = None
    """Read-noise law per cell: additive, read_noise * (on_state - off_state) on every cell;
    multiplicative (NeuroSim V1.5), read_noise * G of each cell, so off cells are quieter at a
    finite on/off ratio (with off_current = subtract the off-state reference cell of each row
    adds its own read_noise * off_state). One of: additive, multiplicative. Training reads it in
    modes: noise_aware.
    """

    read_noise_resample: str | None = None
    """When read noise is drawn: read, fresh for every read of every input vector; forward, once per
    forward call as a perturbation of the cells shared by the batch and every input slice; cycle
    (NeuroSim V1.5), once per forward call and input slice (DAC cycle), shared by the batch.
    multiplicative needs forward or cycle. One of: read, forward, cycle. Training reads it in
    modes: noise_aware.
    """


@dataclass(frozen=True, kw_only=True)
class CalibValues(TrainValues):
    """Values the ``calib`` stage's step reads: those of :class:`TrainValues` and the following."""

    stage: ClassVar[str] = "calib"

    preset: str = "cimsweep"
    """Semantics preset: cimsweep (this tool's defaults) or neurosim_v1.5 (DNN+NeuroSim V1.5's
    meanings: adc_range unit, multiplicative read noise per DAC cycle, offset mapping with a
    layer dummy column, dummy-row inputs, symmetric inputs, per-channel weights, max calibration,
    first layer digital, off current subtracted, drift per read, exclusive output noise). Keys
    given explicitly override it; the effective values are recorded (cimsweep.workflow.presets).
    One of: cimsweep, neurosim_v1.5. Training reads it in modes: qat, noise_aware.
    """

    weight_precision: int = 8
    """Weight bits (signed). Unit: bit. Range: >= 2, <= 16. Training reads it in modes: qat,
    noise_aware.
    """

    input_precision: int = 8
    """Input (activation) bits. Unit: bit. Range: >= 1, <= 16. Training reads it in modes: qat,
    noise_aware.
    """

    input_quant: str = "asymmetric"
    """Input quantization: asymmetric, 2**input_precision codes over [input_min, input_max] with a
    zero point; symmetric (NeuroSim V1.5), signed codes of +-(2**(input_precision - 1) - 1) steps
    of max(|input_min|, |input_max|), shifted by the range's lowest code (0 after a ReLU: one bit
    fewer). One of: asymmetric, symmetric. Training reads it in modes: qat, noise_aware.
    """

    weight_quant_axis: str = "tensor"
    """Weight scale: tensor, one per layer (weight_max); channel (NeuroSim V1.5), one per output
    channel, each at its own max |w| times weight_max / max |w| of the layer (so
    weight_calib_method = max gives each channel its max). One of: tensor, channel. Training
    reads it in modes: qat, noise_aware.
    """

    input_calib_method: str = "percentile"
    """How activation ranges are chosen (histogram: TensorRT entropy/KL calibration). One of: max,
    percentile, mse, histogram. Training reads it in modes: qat, noise_aware.
    """

    weight_calib_method: str = "max"
    """How weight ranges are chosen (histogram: TensorRT entropy/KL calibration). One of: max,
    percentile, mse, histogram. Training reads it in modes: qat, noise_aware.
    """

    calib_percentile: float = 99.99
    """Percentile of |x| used by the percentile method. Unit: %. Range: >= 50, <= 100. Training
    reads it in modes: qat, noise_aware.
    """

    calib_samples: int = 256
    """Training samples used for calibration. Range: >= 1."""

    digital_layers: str = "none"
    """Conv2d/Linear layers kept digital (not mapped onto crossbars). One of: none, first, last,
    first_last. Training reads it in modes: qat, noise_aware.
    """


@dataclass(frozen=True, kw_only=True)
class InferValues(CalibValues):
    """Values the ``infer`` stage's step reads: those of :class:`CalibValues` and the following."""

    stage: ClassVar[str] = "infer"

    infer_samples: int = 0
    """Test samples evaluated by inference: the first N of a deterministic class-stratified order
    (the same samples at every grid point); 0 = the whole test set. Range: >= 0.
    """

    sub_array: tuple[int, int] = (128, 128)
    """Subarray size: rows x cols (a single integer means square). Training reads it in modes:
    noise_aware.
    """

    parallel_read: int = 0
    """Rows activated at once per ADC read; 0 means all rows of the subarray. Range: >= 0. Training
    reads it in modes: noise_aware.
    """

    bitcell: int = 1
    """Bits stored per memory cell. Unit: bit. Range: >= 1, <= 8. Training reads it in modes:
    noise_aware.
    """

    dac_precision: int = 1
    """Input bits applied per cycle (1 = bit-serial). Unit: bit. Range: >= 1, <= 16. Training reads
    it in modes: noise_aware.
    """

    adc_precision: int = 5
    """ADC resolution. Unit: bit. Range: >= 1, <= 16. Training reads it in modes: noise_aware."""

    signed_mapping: str = "differential"
    """Signed weights: differential array pair, or offset mapping with a reference column. One of:
    differential, offset. Training reads it in modes: noise_aware.
    """

    offset_reference: str = "tile"
    """signed_mapping = offset: tile, codes shifted by 2**(weight_precision - 1) with a reference
    column of that value in every subarray; layer (NeuroSim V1.5), codes shifted by the layer's
    -min(q_w) (0 when no code is negative) with one dummy column of that value per layer, read
    through the ADC like the others; digital (ISAAC's bias; NeuroSim V1.4's C++ layout), codes
    shifted by 2**(weight_precision - 1), no reference column, the shift times the input sum
    subtracted after the ADC. One of: tile, layer, digital. Training reads it in modes:
    noise_aware.
    """

    input_offset: str = "digital"
    """Removal of the input zero point (signed inputs): digital, z * sum_i q_w[i, col] subtracted
    exactly; dummy_row (NeuroSim V1.5), one extra input vector of z read through the crossbar and
    ADC (it clips and picks up noise) and subtracted. One of: digital, dummy_row. Training reads
    it in modes: noise_aware.
    """

    off_current: str = "adc_range"
    """Off-state current of the cells: adc_range, carried in the column sum and the ADC range;
    subtract (NeuroSim V1.5), removed in analog by an off-state reference cell per row before the
    ADC. One of: adc_range, subtract. Training reads it in modes: noise_aware.
    """

    mem_type: str = "resistive"
    """Cell kind: resistive (conductance, S) or capacitive (capacitance, F). One of: resistive,
    capacitive. Training reads it in modes: noise_aware.
    """

    on_state: float = 0.0001
    """Highest cell level (S or F). Unit: S|F. Range: > 0. Training reads it in modes: noise_aware.
    """

    off_state: float = 1e-06
    """Lowest cell level (S or F). Unit: S|F. Range: >= 0. Training reads it in modes: noise_aware.
    """

    mem_states_file: str = ""
    """CSV of the cell's measured levels ('' for none): header mean,std, one row per state from
    lowest to highest (S or F), 2**bitcell rows, means strictly increasing, std >= 0. Replaces
    the evenly spaced levels between off_state and on_state in the simulator: level i is
    programmed to mean_i with a per-device deviation std_i (fixed per chip instance, added in
    quadrature to prog_noise); the range mean_0..mean_last takes the place of
    off_state..on_state. PPA keeps using off_state/on_state. Editing the file reruns only the
    inference jobs.
    """

    adc_range: str = "full"
    """ADC input range: full scale of the column, calibrated (clipped) range, tuned (calibrated
    range scaled per layer to minimise its output error), or unit (NeuroSim V1.5: a step of one
    unit product, reads clipped to [0, 2**adc_precision], 2**adc_precision + 1 codes;
    adc_precision is a clip level, not a step size). One of: full, calibrated, tuned, unit.
    Training reads it in modes: noise_aware.
    """

    read_noise: float = 0.0
    """Std of conductance read noise: relative to the level range (read_noise_model = additive) or
    to each cell's own conductance (multiplicative). Range: >= 0.
    """

    read_noise_model: str = "additive"
    """Read-noise law per cell: additive, read_noise * (on_state - off_state) on every cell;
    multiplicative (NeuroSim V1.5), read_noise * G of each cell, so off cells are quieter at a
    finite on/off ratio (with off_current = subtract the off-state reference cell of each row
    adds its own read_noise * off_state). One of: additive, multiplicative. Training reads it in
    modes: noise_aware.
    """

    read_noise_resample: str = "read"
    """When read noise is drawn: read, fresh for every read of every input vector; forward, once per
    forward call as a perturbation of the cells shared by the batch and every input slice; cycle
    (NeuroSim V1.5), once per forward call and input slice (DAC cycle), shared by the batch.
    multiplicative needs forward or cycle. One of: read, forward, cycle. Training reads it in
    modes: noise_aware.
    """

    output_noise: float = 0.0
    """Std of column-output noise before the ADC, in ADC LSB; -1 takes per-level statistics from
    output_noise_file instead (NeuroSim's convention). Unit: LSB. Range: >= -1.
    """

    output_noise_file: str = ""
    """CSV of per-level column-output statistics, used where output_noise = -1: header
    level,mean,std, one row per level, levels strictly increasing, std >= 0. level is the noise-
    free column output in unit products (one DAC input step times one cell level step, (on_state
    - off_state) / (2**bitcell - 1); the off-state baseline included), mean the measured mean
    output at that level and std its spread (both in unit products). Each read gets offset mean -
    level and Gaussian noise of std, interpolated linearly on its noise-free value (held constant
    beyond the first and last rows), before the ADC.
    """

    output_noise_mode: str = "additive"
    """How output noise combines with the cells' non-idealities: additive, on top of programming
    variation, drift and read noise; exclusive (NeuroSim V1.5), when output_noise is nonzero the
    column reads the nominal integer levels (no programming variation, drift, read noise or off-
    state baseline; stuck cells stay) plus output noise. One of: additive, exclusive.
    """

    prog_noise: float = 0.0
    """Std of programming variation, relative to the level range (fixed per chip). Range: >= 0."""

    rate_stuck_0: float = 0.0
    """Fraction of cells stuck at the off state. Range: >= 0, <= 1."""

    rate_stuck_1: float = 0.0
    """Fraction of cells stuck at the on state. Range: >= 0, <= 1."""

    t: float = 1.0
    """Retention time since programming (t0 = 1 s). Unit: s. Range: >= 1."""

    v: float = 0.0
    """Retention drift coefficient (drift_model = pcm: the mean drift exponent nu). Range: >= 0."""

    drift_model: str = "neurosim"
    """Retention law. neurosim: normalised level n * t**(v * s) clamped to [0, 1] (see detect,
    target); pcm: power law G(t) = G(t0) * (t / t0)**(-nu) on the conductance (off-state
    included, t0 = 1 s), nu per device ~ N(v, nu_std) clipped at 0 (Joshi et al. 2020);
    neurosim_conductance (NeuroSim V1.5's code): the neurosim law on the conductance, off-state
    baseline included, clamped to [off_state, on_state]. One of: neurosim, pcm,
    neurosim_conductance.
    """

    drift_resample: str = "instance"
    """When retention drift is drawn: instance, once per chip instance; read (NeuroSim V1.5), afresh
    at every forward call and input slice, from the programmed levels, so it acts like extra read
    noise. One of: instance, read.
    """

    nu_std: float = 0.0
    """Device-to-device std of the PCM drift exponent nu (drift_model = pcm). Range: >= 0."""

    drift_compensation: int = 0
    """Global drift compensation (Joshi et al. 2020), 1 on, 0 off: per read group and weight slice,
    the digital outputs are scaled by the ratio of the column sums of an all-ones calibration
    read at t0 (stored at programming) and at read time t. Range: >= 0, <= 1.
    """

    detect: int = 0
    """Drift direction: 0 random (+1/0/-1 per cell), 1 toward target. Range: >= 0, <= 1."""

    target: float = 0.0
    """Normalised target level for detect = 1. Range: >= 0, <= 1."""

    mc_runs: int = 3
    """Monte-Carlo chip instances per grid point. Range: >= 1, <= 1000."""


@dataclass(frozen=True, kw_only=True)
class PpaValues(StageValues):
    """Values the ``ppa`` stage's step reads."""

    stage: ClassVar[str] = "ppa"

    dataset: str = "digits"
    """Data set name. One of: digits, mnist, fashion_mnist, cifar10, cifar100, imagefolder."""

    model: str = "mlp"
    """Network architecture (user: see user_model). One of: mlp, cnn, vgg8, resnet18, resnet20,
    lenet5, user.
    """

    preset: str = "cimsweep"
    """Semantics preset: cimsweep (this tool's defaults) or neurosim_v1.5 (DNN+NeuroSim V1.5's
    meanings: adc_range unit, multiplicative read noise per DAC cycle, offset mapping with a
    layer dummy column, dummy-row inputs, symmetric inputs, per-channel weights, max calibration,
    first layer digital, off current subtracted, drift per read, exclusive output noise). Keys
    given explicitly override it; the effective values are recorded (cimsweep.workflow.presets).
    One of: cimsweep, neurosim_v1.5. Training reads it in modes: qat, noise_aware.
    """

    weight_precision: int = 8
    """Weight bits (signed). Unit: bit. Range: >= 2, <= 16. Training reads it in modes: qat,
    noise_aware.
    """

    input_precision: int = 8
    """Input (activation) bits. Unit: bit. Range: >= 1, <= 16. Training reads it in modes: qat,
    noise_aware.
    """

    input_quant: str = "asymmetric"
    """Input quantization: asymmetric, 2**input_precision codes over [input_min, input_max] with a
    zero point; symmetric (NeuroSim V1.5), signed codes of +-(2**(input_precision - 1) - 1) steps
    of max(|input_min|, |input_max|), shifted by the range's lowest code (0 after a ReLU: one bit
    fewer). One of: asymmetric, symmetric. Training reads it in modes: qat, noise_aware.
    """

    weight_quant_axis: str = "tensor"
    """Weight scale: tensor, one per layer (weight_max); channel (NeuroSim V1.5), one per output
    channel, each at its own max |w| times weight_max / max |w| of the layer (so
    weight_calib_method = max gives each channel its max). One of: tensor, channel. Training
    reads it in modes: qat, noise_aware.
    """

    digital_layers: str = "none"
    """Conv2d/Linear layers kept digital (not mapped onto crossbars). One of: none, first, last,
    first_last. Training reads it in modes: qat, noise_aware.
    """

    sub_array: tuple[int, int] = (128, 128)
    """Subarray size: rows x cols (a single integer means square). Training reads it in modes:
    noise_aware.
    """

    parallel_read: int = 0
    """Rows activated at once per ADC read; 0 means all rows of the subarray. Range: >= 0. Training
    reads it in modes: noise_aware.
    """

    bitcell: int = 1
    """Bits stored per memory cell. Unit: bit. Range: >= 1, <= 8. Training reads it in modes:
    noise_aware.
    """

    dac_precision: int = 1
    """Input bits applied per cycle (1 = bit-serial). Unit: bit. Range: >= 1, <= 16. Training reads
    it in modes: noise_aware.
    """

    adc_precision: int = 5
    """ADC resolution. Unit: bit. Range: >= 1, <= 16. Training reads it in modes: noise_aware."""

    signed_mapping: str = "differential"
    """Signed weights: differential array pair, or offset mapping with a reference column. One of:
    differential, offset. Training reads it in modes: noise_aware.
    """

    offset_reference: str = "tile"
    """signed_mapping = offset: tile, codes shifted by 2**(weight_precision - 1) with a reference
    column of that value in every subarray; layer (NeuroSim V1.5), codes shifted by the layer's
    -min(q_w) (0 when no code is negative) with one dummy column of that value per layer, read
    through the ADC like the others; digital (ISAAC's bias; NeuroSim V1.4's C++ layout), codes
    shifted by 2**(weight_precision - 1), no reference column, the shift times the input sum
    subtracted after the ADC. One of: tile, layer, digital. Training reads it in modes:
    noise_aware.
    """

    mem_type: str = "resistive"
    """Cell kind: resistive (conductance, S) or capacitive (capacitance, F). One of: resistive,
    capacitive. Training reads it in modes: noise_aware.
    """

    on_state: float = 0.0001
    """Highest cell level (S or F). Unit: S|F. Range: > 0. Training reads it in modes: noise_aware.
    """

    off_state: float = 1e-06
    """Lowest cell level (S or F). Unit: S|F. Range: >= 0. Training reads it in modes: noise_aware.
    """

    tech_node: int = 22
    """Technology node. Unit: nm. One of: 130, 65, 45, 32, 22, 14, 7, 5, 3, 2, 1."""

    adc_type: str = "sar"
    """ADC architecture. One of: sar, flash."""

    column_mux: int = 8
    """Columns sharing one ADC. Range: >= 1."""

    cell_type: str = "1T1R"
    """Memory-cell circuit (sets the footprint in F^2). One of: 1T1R, SRAM6T, SRAM8T."""

    ppa_mode: str = "layer"
    """Latency model: layer-by-layer or pipelined across layers. One of: layer, pipeline."""

    ppa_backend: str = "analytical"
    """PPA model: the built-in analytical estimate, or NeuroSim's C++ built from neurosim_dir and
    run on the trained model's traces. One of: analytical, neurosim.
    """

    neurosim_dir: str = ""
    """NeuroSim source tree for ppa_backend: neurosim (V1.4's Inference_pytorch/NeuroSIM or a
    checkout holding it); its Param.cpp is the base that gets patched.
    """

    ppa_calibration: str = ""
    """Calibration file for the analytical estimate (written by python -m cimsweep.ppa.fit, e.g.
    config/tech/calibration_neurosim_v1.4.yaml): its per-metric factors scale area, dynamic
    energy, leakage power and latency, its tech settings (weight duplication) apply first. Empty:
    uncalibrated. NeuroSim-backend points are never scaled.
    """


STAGE_VALUES: dict[str, type[StageValues]] = {
    "data": DataValues,
    "train": TrainValues,
    "calib": CalibValues,
    "infer": InferValues,
    "ppa": PpaValues,
}

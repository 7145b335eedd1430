"""Crossbar mapping and converter parameters (simulator and PPA)."""

from __future__ import annotations

from cimsweep.signed_mapping import REFERENCES, SignedMapping

from .base import HW, NOISE_AWARE_MODES, SIM, Param, declare

PARAMS: list[Param] = [
    declare(
        "sub_array",
        "shape",
        (128, 128),
        HW,
        "Subarray size: rows x cols (a single integer means square).",
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "parallel_read",
        "int",
        0,
        HW,
        "Rows activated at once per ADC read; 0 means all rows of the subarray.",
        minimum=0,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "bitcell",
        "int",
        1,
        HW,
        "Bits stored per memory cell.",
        unit="bit",
        minimum=1,
        maximum=8,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "dac_precision",
        "int",
        1,
        HW,
        "Input bits applied per cycle (1 = bit-serial).",
        unit="bit",
        minimum=1,
        maximum=16,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "adc_precision",
        "int",
        5,
        HW,
        "ADC resolution.",
        unit="bit",
        minimum=1,
        maximum=16,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "signed_mapping",
        "str",
        "differential",
        HW,
        "Signed weights: differential array pair, or offset mapping with a reference column.",
        choices=SignedMapping.names(),  # the registry (cimsweep.signed_mapping)
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "offset_reference",
        "str",
        "tile",
        HW,
        "signed_mapping = offset: tile, codes shifted by 2**(weight_precision - 1) with a "
        "reference column of that value in every subarray; layer (NeuroSim V1.5), codes "
        "shifted by the layer's -min(q_w) (0 when no code is negative) with one dummy column "
        "of that value per layer, read through the ADC like the others; digital (ISAAC's "
        "bias; NeuroSim V1.4's C++ layout), codes shifted by 2**(weight_precision - 1), no "
        "reference column, the shift times the input sum subtracted after the ADC.",
        choices=REFERENCES,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "input_offset",
        "str",
        "digital",
        SIM,
        "Removal of the input zero point (signed inputs): digital, z * sum_i q_w[i, col] "
        "subtracted exactly; dummy_row (NeuroSim V1.5), one extra input vector of z read "
        "through the crossbar and ADC (it clips and picks up noise) and subtracted.",
        choices=("digital", "dummy_row"),
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "off_current",
        "str",
        "adc_range",
        SIM,
        "Off-state current of the cells: adc_range, carried in the column sum and the ADC "
        "range; subtract (NeuroSim V1.5), removed in analog by an off-state reference cell "
        "per row before the ADC.",
        choices=("adc_range", "subtract"),
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "mem_type",
        "str",
        "resistive",
        HW,
        "Cell kind: resistive (conductance, S) or capacitive (capacitance, F).",
        choices=("resistive", "capacitive"),
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "on_state",
        "float",
        1e-4,
        HW,
        "Highest cell level (S or F).",
        unit="S|F",
        minimum=0.0,
        exclusive_minimum=True,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "off_state",
        "float",
        1e-6,
        HW,
        "Lowest cell level (S or F).",
        unit="S|F",
        minimum=0.0,
        train_modes=NOISE_AWARE_MODES,
    ),
    declare(
        "mem_states_file",
        "path",
        "",
        SIM,
        "CSV of the cell's measured levels ('' for none): header mean,std, one row per state "
        "from lowest to highest (S or F), 2**bitcell rows, means strictly increasing, std >= "
        "0. Replaces the evenly spaced levels between off_state and on_state in the "
        "simulator: level i is programmed to mean_i with a per-device deviation std_i "
        "(fixed per chip instance, added in quadrature to prog_noise); the range "
        "mean_0..mean_last takes the place of off_state..on_state. PPA keeps using "
        "off_state/on_state. Editing the file reruns only the inference jobs.",
    ),
]

"""Measured device profiles (mem_states_file, output_noise_file) and PCM drift with compensation."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from cimsweep.cim import sim_config
from cimsweep.cim.devices import NoiseStream, OutputNoiseTable, cell_model, chip_levels
from cimsweep.cim.engine import LayerEngine
from cimsweep.data.device_files import DeviceFileError
from cimsweep.workflow.config import ConfigError, load

# a 2-bit cell: unevenly spaced states (S) with state-dependent spread
STATES = [(2e-6, 2e-7), (2.5e-5, 1.5e-6), (6e-5, 3e-6), (1e-4, 5e-6)]


def _csv(path: Path, header: str, rows: list[tuple]) -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(repr, r)) + "\n" for r in rows))
    return path


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _bucket_levels(eng: LayerEngine, x: torch.Tensor) -> torch.Tensor:
    """``x`` (n_w, rows, phys_cols) laid out like the chip's bucket weights, flattened."""
    parts = [x[:, rows].permute(1, 2, 0, 3).reshape(-1) for _size, _idx, rows in eng.buckets]
    return torch.cat(parts)


# ------------------------------------------------------------------------------ mem_states_file
def test_programmed_cells_match_the_states_file(tmp_path: Path) -> None:
    """Per-state mean and std of programmed conductances on a large array match the file."""
    path = _csv(tmp_path / "states.csv", "mean,std", STATES)
    torch.manual_seed(0)
    layer = nn.Linear(256, 256, bias=False)
    sim = sim_config(bitcell=2, weight_precision=5, mem_states_file=str(path))
    eng = LayerEngine("l", layer, {"input_min": -1.0, "input_max": 1.0, "weight_max": 0.06}, sim)
    chip = eng.program(_gen(1), shortcut=False)
    units = torch.cat([w.reshape(-1) for w in chip.bucket_weights]).double()
    levels = _bucket_levels(eng, eng.levels)
    unit = (STATES[-1][0] - STATES[0][0]) / 3  # S per unit level
    g = units * unit
    for level, (mean, std) in enumerate(STATES):
        cells = g[levels == level]
        n = cells.numel()
        assert n > 20000, n
        print(f"state {level}: {n} cells, mean {float(cells.mean()):.4e} S (file {mean:.4e}), "
              f"std {float(cells.std()):.4e} S (file {std:.4e})")  # fmt: skip
        assert float(cells.mean()) == pytest.approx(mean, abs=5 * std / math.sqrt(n))
        # std of a sample std: std / sqrt(2n)
        assert float(cells.std()) == pytest.approx(std, abs=5 * std / math.sqrt(2 * n))


def test_evenly_spaced_exact_states_file_equals_on_off_levels(tmp_path: Path) -> None:
    on, off = 1e-4, 1e-6
    rows = [(off + i * (on - off) / 3, 0.0) for i in range(4)]
    path = _csv(tmp_path / "even.csv", "mean,std", rows)
    torch.manual_seed(2)
    layer = nn.Linear(40, 6)
    x = torch.randn(5, 40, generator=_gen(3))
    rng = {"input_min": -2.0, "input_max": 2.0, "weight_max": 0.2}
    outs = []
    for extra in ({}, {"mem_states_file": str(path)}):
        sim = sim_config(bitcell=2, adc_precision=6, on_state=on, off_state=off, **extra)
        eng = LayerEngine("l", layer, rng, sim)
        codes, _ = eng.input_codes(x)
        outs.append(eng.mvm(codes, eng.program(_gen(4))))
    assert torch.equal(outs[0], outs[1])


def test_uneven_states_shift_the_noise_free_result(tmp_path: Path) -> None:
    """Nominal (spread-free) uneven levels: the column sum is sum x_i * mean_level / unit."""
    path = _csv(tmp_path / "uneven.csv", "mean,std", [(m, 0.0) for m, _ in STATES])
    cells = cell_model(sim_config(bitcell=2, mem_states_file=str(path)), 4)
    unit = (STATES[-1][0] - STATES[0][0]) / 3
    expect = torch.tensor([m for m, _ in STATES], dtype=torch.float64) / unit
    levels = torch.arange(4, dtype=torch.float64)
    torch.testing.assert_close(cells.nominal(levels) * 3 + cells.c, expect)
    assert not cells.uniform


def test_states_file_row_count_checked_at_run_time(tmp_path: Path) -> None:
    path = _csv(tmp_path / "states.csv", "mean,std", STATES)
    with pytest.raises(DeviceFileError, match=r"lists 4 states; expected 2 = 2\*\*bitcell"):
        cell_model(sim_config(bitcell=1, mem_states_file=str(path)), 2)


# ------------------------------------------------------------------------------ output noise
NOISE = [(0.0, 0.0, 0.5), (100.0, 101.0, 2.0), (400.0, 396.0, 6.0)]


def test_output_noise_table_interpolates_offset_and_std(tmp_path: Path) -> None:
    table = OutputNoiseTable(str(_csv(tmp_path / "noise.csv", "level,mean,std", NOISE)))
    y = torch.tensor([-5.0, 0.0, 50.0, 100.0, 250.0, 400.0, 900.0])
    offset, std = table(y)
    torch.testing.assert_close(offset, torch.tensor([0.0, 0.0, 0.5, 1.0, -1.5, -4.0, -4.0]))
    torch.testing.assert_close(std, torch.tensor([0.5, 0.5, 1.25, 2.0, 4.0, 6.0, 6.0]))


def test_output_noise_file_statistics_reproduced_by_the_engine(tmp_path: Path) -> None:
    """Column outputs get the file's offset and std at their noise-free level (+ ADC 1/12)."""
    path = _csv(tmp_path / "noise.csv", "level,mean,std", NOISE)
    rows, reps = 64, 6000
    layer = nn.Linear(rows, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([1.0, 0.0]).view(2, 1).repeat(1, rows))
    sim = sim_config(
        input_precision=3, dac_precision=3, weight_precision=2, adc_precision=16,
        output_noise=-1, output_noise_file=str(path), sub_array=(rows, 64),
        on_state=1e-4, off_state=2.5e-5,
    )  # fmt: skip
    eng = LayerEngine("l", layer, {"input_min": 0.0, "input_max": 7.0, "weight_max": 1.0}, sim)
    assert float(eng.step.max()) == 1.0  # one unit product per ADC code
    x = torch.arange(rows).remainder(8).float()
    t = eng.mvm(x.repeat(reps, 1), eng.program(None), NoiseStream(_gen(7), "cpu"))
    sx = float(x.sum())  # 224; c = 1/3: the "1" column reads 4/3 * sx, a "0" column sx / 3
    table = OutputNoiseTable(str(path))
    (off_hi, off_lo), (sd_hi, sd_lo) = table(torch.tensor([sx * 4 / 3, sx / 3]))
    expect_mean = [sx + float(off_hi - off_lo), 0.0]
    expect_var = [float(sd_hi**2 + sd_lo**2) + 2 / 12, 2 * float(sd_lo**2) + 2 / 12]
    mean, var = t.mean(0), t.var(0)
    print(f"output mean {mean.tolist()} vs {expect_mean}, var {var.tolist()} vs {expect_var}")
    for j in range(2):
        assert float(mean[j]) == pytest.approx(
            expect_mean[j], abs=4 * math.sqrt(expect_var[j] / reps)
        )
        assert float(var[j]) == pytest.approx(expect_var[j], rel=0.08)


# ------------------------------------------------------------------------------ PCM drift
def _pcm_sim(**kw):
    return sim_config(**{"drift_model": "pcm", "off_state": 0.0, **kw})


def test_pcm_drift_without_spread_is_exact_power_law() -> None:
    levels = torch.randint(0, 4, (1000,), generator=_gen()).double()
    t, v = 1e4, 0.05
    sim = _pcm_sim(bitcell=2, t=t, v=v, off_state=1e-6)
    cells = cell_model(sim, 4)
    n = chip_levels(levels, 4, sim, _gen(), cells)
    g0, g = levels + cells.c, n * 3 + cells.c  # conductance in unit levels
    torch.testing.assert_close(g / g0, torch.full_like(g, t**-v), rtol=1e-12, atol=0)


def test_pcm_drift_exponent_spread_matches_nu_std() -> None:
    levels = torch.ones(200000, dtype=torch.float64)
    t, v, nu_std = 1e6, 0.06, 0.01
    sim = _pcm_sim(t=t, v=v, nu_std=nu_std)
    n = chip_levels(levels, 2, sim, _gen(3))
    log_ratio = torch.log(n)  # off_state = 0: the conductance ratio is n / 1
    mean, std = float(log_ratio.mean()), float(log_ratio.std())
    print(f"log ratio mean {mean:.5f} (expect {-v * math.log(t):.5f}), "
          f"std {std:.5f} (expect {nu_std * math.log(t):.5f})")  # fmt: skip
    assert mean == pytest.approx(-v * math.log(t), rel=0.005)
    assert std == pytest.approx(nu_std * math.log(t), rel=0.01)


def test_pcm_identity_at_t0_and_nu_clipped_at_zero() -> None:
    levels = torch.ones(50000, dtype=torch.float64)
    n = chip_levels(levels, 2, _pcm_sim(t=1.0, v=0.1, nu_std=0.05), _gen())
    assert torch.equal(n, levels)
    n = chip_levels(levels, 2, _pcm_sim(t=1e3, v=0.0, nu_std=0.05), _gen())
    assert n.max() <= 1.0  # nu >= 0: conductance never grows
    assert float((n == 1).double().mean()) == pytest.approx(0.5, abs=0.01)  # half clipped


@pytest.mark.parametrize("nu_std,tol", [(0.0, 0.02), (0.02, 0.1)])
def test_global_drift_compensation_restores_column_sums_and_snr(nu_std, tol) -> None:
    """Outputs shrink by E[t^-nu]; compensation brings the mean gain back to 1 and the SNR up.

    Without spread the compensation is exact up to ADC rounding (1 unit product here); with
    spread the residual
    gain error is that of a few hundred devices' mean (a few %, seed to seed).
    """
    t, v = 1e6, 0.05
    torch.manual_seed(5)
    layer = nn.Linear(200, 16, bias=False)
    x = torch.randn(64, 200, generator=_gen(6)).abs()
    # zero point 0: the whole result is analog (no digital zero-point term that would not drift)
    rng = {"input_min": 0.0, "input_max": 2.5, "weight_max": 0.08}
    results = {}
    for comp in (0, 1):
        sim = _pcm_sim(
            t=t, v=v, nu_std=nu_std, adc_precision=10, drift_compensation=comp,
            off_state=1e-6, sub_array=(64, 64),
        )  # fmt: skip
        eng = LayerEngine("l", layer, rng, sim)
        codes, _ = eng.input_codes(x)
        ref = eng.reference(codes)
        chip = eng.program(_gen(8))
        assert (chip.scale is not None) == bool(comp)
        out = eng.mvm(codes, chip)
        slope = float((out * ref).sum() / (ref * ref).sum())
        snr = 10 * math.log10(float(ref.pow(2).sum() / (out - ref).pow(2).sum()))
        results[comp] = (slope, snr)
        if comp:
            assert chip.scale.shape == (len(eng.map.groups), eng.map.n_w)
            assert float(chip.scale.mean()) == pytest.approx(t**v, rel=0.05)
    print(f"nu_std {nu_std}: no compensation: slope {results[0][0]:.3f}, SNR "
          f"{results[0][1]:.1f} dB; compensated: slope {results[1][0]:.3f}, SNR "
          f"{results[1][1]:.1f} dB")  # fmt: skip
    shrink = t**-v * math.exp((nu_std * math.log(t)) ** 2 / 2)  # E[t^-nu], nu ~ N(v, nu_std)
    assert results[0][0] == pytest.approx(shrink, rel=0.05)
    assert results[1][0] == pytest.approx(1.0, abs=tol)
    assert results[1][1] > results[0][1] + 3


# ------------------------------------------------------------------------------ config checks
def _load_states(tmp_path: Path, text: str | bytes, **params):
    path = tmp_path / "states.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return load({"params": {"bitcell": 2, "mem_states_file": str(path), **params}})


GOOD_STATES = "mean,std\n1e-6,1e-8\n3e-5,1e-7\n6e-5,1e-7\n1e-4,2e-7\n"

STATES_ERRORS = [
    (
        "mean,sigma\n1e-6,0\n",
        ["missing std", "unexpected 'sigma'", "expected exactly the columns mean,std"],
    ),
    ("mean\n1e-6\n2e-6\n", ["missing std", "expected exactly the columns mean,std"]),
    ("", ["is empty", "expected a CSV file with header mean,std"]),
    ("mean,std\n", ["no data rows", "expected a CSV file with header mean,std"]),
    (
        "mean,std\n1e-6,0\n2e-6,abc\n3e-6,0\n4e-6,0\n",
        ["line 3, column std", "'abc' is not a finite number", "expected a number"],
    ),
    ("mean,std\n1e-6,0\n2e-6,nan\n3e-6,0\n4e-6,0\n", ["line 3, column std", "expected a number"]),
    ("mean,std\n1e-6,0\n2e-6\n3e-6,0\n4e-6,0\n", ["line 3 has 1 cells", "expected 2"]),
    (
        "mean,std\n1e-6,0\n2e-6,-1e-7\n3e-6,0\n4e-6,0\n",
        ["line 3", "std = -1e-07 is negative", "expected std >= 0"],
    ),
    (
        "mean,std\n1e-6,0\n3e-6,0\n3e-6,0\n4e-6,0\n",
        ["line 4", "mean = 3e-06 does not exceed", "expected means strictly increasing"],
    ),
    (
        "mean,std\n-1e-6,0\n2e-6,0\n3e-6,0\n4e-6,0\n",
        ["mean = -1e-06 is negative", "expected levels >= 0"],
    ),
    (
        "mean,std\n1e-6,0\n2e-6,0\n",
        ["lists 2 states", "expected 4 = 2**bitcell rows for bitcell = 2"],
    ),
    (b"mean,std\n\xff\xfe,0\n", ["cannot be read", "expected a CSV file with header mean,std"]),
]


def test_good_states_file_loads(tmp_path: Path) -> None:
    sweep = _load_states(tmp_path, GOOD_STATES)
    assert sweep.values["mem_states_file"].endswith("states.csv")


@pytest.mark.parametrize("text,needles", STATES_ERRORS)
def test_bad_states_file_named_in_config_error(tmp_path: Path, text, needles) -> None:
    with pytest.raises(ConfigError) as err:
        _load_states(tmp_path, text)
    msg = str(err.value)
    assert "params.mem_states_file" in msg and "states.csv" in msg, msg
    for needle in needles:
        assert needle in msg, msg


def test_missing_states_file_and_folder(tmp_path: Path) -> None:
    for path, what in ((tmp_path / "nope.csv", "does not exist"), (tmp_path, "is a folder")):
        with pytest.raises(ConfigError) as err:
            load({"params": {"mem_states_file": str(path)}})
        msg = str(err.value)
        assert "params.mem_states_file" in msg and str(path) in msg and what in msg, msg
        assert "expected a CSV file with header mean,std" in msg


def test_states_count_checked_for_every_bitcell_on_the_grid(tmp_path: Path) -> None:
    path = tmp_path / "states.csv"
    path.write_text(GOOD_STATES)
    with pytest.raises(ConfigError, match=r"expected 2 = 2\*\*bitcell rows for bitcell = 1"):
        load({"params": {"mem_states_file": str(path)}, "grid": {"bitcell": [2, 1]}})


GOOD_NOISE = "level,mean,std\n0,0.1,0.5\n50,50.5,1\n200,198,3\n"

NOISE_ERRORS = [
    ("level,mean\n0,0\n", ["missing std", "expected exactly the columns level,mean,std"]),
    ("level,mean,std,extra\n0,0,0,0\n", ["unexpected 'extra'", "expected exactly the columns"]),
    ("level,mean,std\n0,0,0\n10,x,1\n", ["line 3, column mean", "expected a number"]),
    ("level,mean,std\n0,0,0\n10,10,-1\n", ["std = -1.0 is negative", "expected std >= 0"]),
    (
        "level,mean,std\n10,10,0\n5,5,1\n",
        ["level = 5.0 does not exceed", "expected levels strictly increasing"],
    ),
]


@pytest.mark.parametrize("text,needles", NOISE_ERRORS)
def test_bad_output_noise_file_named_in_config_error(tmp_path: Path, text, needles) -> None:
    path = tmp_path / "noise.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load({"params": {"output_noise": -1, "output_noise_file": str(path)}})
    msg = str(err.value)
    assert "params.output_noise_file" in msg and "noise.csv" in msg, msg
    for needle in needles:
        assert needle in msg, msg


def test_output_noise_sentinel_and_file_go_together(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_text(GOOD_NOISE)
    load({"params": {"output_noise": -1, "output_noise_file": str(path)}})
    # the file may serve the -1 points of a grid that also has Gaussian points
    load({"params": {"output_noise_file": str(path)}, "grid": {"output_noise": [-1, 0.5]}})
    with pytest.raises(ConfigError, match=r"output_noise = -1 needs params.output_noise_file"):
        load({"params": {"output_noise": -1}})
    with pytest.raises(ConfigError) as err:
        load({"params": {"output_noise": 0.5, "output_noise_file": str(path)}})
    assert "noise.csv" in str(err.value) and "expected output_noise = -1" in str(err.value)
    with pytest.raises(ConfigError, match=r"output_noise = -0.5: expected a std >= 0"):
        load({"grid": {"output_noise": [0.0, -0.5]}})
    with pytest.raises(ConfigError) as err:
        load({"params": {"output_noise": -1, "output_noise_file": str(tmp_path / "no.csv")}})
    assert "params.output_noise_file" in str(err.value) and "does not exist" in str(err.value)

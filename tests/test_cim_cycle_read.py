"""``cim_cycle_read`` (:mod:`cimsweep.cim.cycle_read`): per-call and per-cycle cell read noise
perturbed and read in the compiled kernel, against the torch-perturbed path it replaces."""

from __future__ import annotations

import ctypes
import subprocess

import pytest
import torch

from cimsweep.cim import cycle_read, kernel, sim_config
from cimsweep.cim.chip import LayerStats
from cimsweep.cim.devices import NoiseStream
from cimsweep.cim.engine import LayerEngine

needs_kernel = pytest.mark.skipif(kernel.library() is None, reason="no C compiler")

NS = dict(preset="neurosim_v1.5", digital_layers="none")
CASES = {
    "preset_cycle": dict(NS, read_noise=0.1, adc_precision=5),
    "preset_cycle_onoff10": dict(
        NS, read_noise=0.2, adc_precision=4, on_state=1e-4, off_state=1e-5
    ),
    "preset_forward": dict(NS, read_noise=0.1, adc_precision=5, read_noise_resample="forward"),
    "preset_additive": dict(NS, read_noise=0.1, adc_precision=6, read_noise_model="additive"),
    "preset_dac4_bitcell2_pr16": dict(
        NS, read_noise=0.1, adc_precision=8, dac_precision=4, bitcell=2, parallel_read=16
    ),
    "output_noise_on_top": dict(
        NS, read_noise=0.1, adc_precision=6, output_noise=0.5, output_noise_mode="additive"
    ),
    "cimsweep_mult_cycle_prog_stuck": dict(
        read_noise=0.1,
        read_noise_model="multiplicative",
        read_noise_resample="cycle",
        prog_noise=0.05,
        rate_stuck_1=0.01,
        adc_precision=5,
    ),  # fmt: skip
}


def _engine(sim: dict, rows: int = 70, cols: int = 8) -> tuple[LayerEngine, torch.Tensor]:
    """A layer over several read groups of two sizes (sub_array 32: 32, 32 and 6 rows)."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(rows, cols)
    w_max = float(layer.weight.detach().abs().max())
    rng = {"input_min": -1.0, "input_max": 1.0, "weight_max": w_max}
    e = LayerEngine("l", layer, rng, sim_config(sub_array=32, **sim))
    g = torch.Generator().manual_seed(1)
    codes, _ = e.input_codes(torch.rand(37, rows, generator=g) * 2 - 1)
    return e, codes


def _calls(e: LayerEngine, codes: torch.Tensor, seed: int = 5, calls: int = 2):
    gen = torch.Generator().manual_seed(seed)
    chip, noise, stats = e.program(gen), NoiseStream(gen, "cpu"), LayerStats()
    return torch.stack([e.mvm(codes, chip, noise, stats) for _ in range(calls)]), stats


@needs_kernel
@pytest.mark.parametrize("case", sorted(CASES))
def test_compiled_per_call_reads_equal_the_torch_perturbed_path(monkeypatch, case):
    """Same noise stream calls and indices, same float32 operations: bit for bit, and the same
    read and clip counts."""
    e, codes = _engine(CASES[case])
    assert len(e.buckets) == 2 and e.cell_noise is not None
    served = []
    real = cycle_read.analog
    monkeypatch.setattr(cycle_read, "analog", lambda *a: served.append(1) or real(*a))
    new, s_new = _calls(e, codes)
    assert served  # the compiled path ran
    monkeypatch.setattr(cycle_read, "applies", lambda *a: False)
    old, s_old = _calls(e, codes)
    assert torch.equal(new, old)
    assert (s_new.reads, s_new.clipped) == (s_old.reads, s_old.clipped)
    assert s_new.clipped > 0 or e.sim["adc_range"] != "unit"  # the clip counts are compared
    assert not torch.equal(new[0], new[1])  # a fresh draw every call


@needs_kernel
def test_cycle_noise_is_independent_of_chunking_and_deterministic(monkeypatch):
    """Under the preset (unit ADC steps) every code and sum is an exact integer, so chunks of
    other sizes give the same numbers exactly; the seed alone fixes them."""
    e, codes = _engine(CASES["preset_cycle"])
    whole, _ = _calls(e, codes)
    assert torch.equal(whole, _calls(e, codes)[0])
    assert not torch.equal(whole, _calls(e, codes, seed=6)[0])
    chunked = []
    real = LayerEngine.chunks

    def small(self, groups, m_total, elements=0, n_x=None):
        out = real(self, groups, m_total, 3 * self.map.n_w * self.map.phys_cols, n_x)
        chunked.append(out)
        return out

    monkeypatch.setattr(LayerEngine, "chunks", small)
    assert torch.equal(_calls(e, codes)[0], whole)
    assert max(mc for _, mc in chunked) == 3  # 3 vectors per chunk, one group


@needs_kernel
def test_torch_fallback_agrees_with_the_kernel(monkeypatch):
    """Without the compiled kernel the torch path reads the same cells with a matmul that adds
    in another order: a read at an ADC threshold may round the other way, nothing more."""
    e, codes = _engine(CASES["preset_cycle"])
    a, sa = _calls(e, codes)
    monkeypatch.setattr(kernel, "fused", lambda device: False)
    b, sb = _calls(e, codes)
    assert sa.reads == sb.reads and abs(sa.clipped - sb.clipped) <= 1e-3 * sa.reads
    assert float((a != b).float().mean()) < 0.01


@needs_kernel
def test_generic_build_reads_the_same_numbers(tmp_path, monkeypatch):
    """The portable C build (no AVX2: other CPUs) gives the same numbers."""
    e, codes = _engine(CASES["preset_cycle_onoff10"])
    ref, _ = _calls(e, codes)
    lib_path = tmp_path / "generic.so"
    cmd = [*kernel._compiler().split(), *kernel.CFLAGS, "-DCIM_GENERIC", str(kernel.SOURCE)]
    subprocess.run([*cmd, *kernel.LIBS, "-o", str(lib_path)], check=True, capture_output=True)
    generic = kernel.bind(ctypes.CDLL(str(lib_path)))
    monkeypatch.setattr(kernel, "library", lambda: generic)
    assert torch.equal(_calls(e, codes)[0], ref)

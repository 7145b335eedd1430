"""Device-model registries: a new subclass is found by name and used by the simulator."""

from __future__ import annotations

import pytest
import torch

from cimsweep.cim import sim_config
from cimsweep.cim.devices import chip_levels, drifts
from cimsweep.cim.models import DriftModel, NeuroSimDrift, PCMDrift, drift_model


def test_builtin_drift_models_are_registered() -> None:
    assert DriftModel.lookup("neurosim") is NeuroSimDrift
    assert DriftModel.lookup("pcm") is PCMDrift
    assert isinstance(drift_model(sim_config(drift_model="pcm")), PCMDrift)
    with pytest.raises(KeyError, match="known: .*neurosim.*pcm"):
        DriftModel.lookup("nope")


def test_new_drift_model_is_found_by_name_and_used() -> None:
    class HalvingDrift(DriftModel):  # every level halves once t > 1
        name = "test_halving"

        @property
        def active(self) -> bool:
            return self.t > 1

        def apply(self, n, *, cell_levels, c, generator):  # type: ignore[no-untyped-def]
            return n * 0.5 if self.active else n

    try:
        sim = {**sim_config(t=10.0), "drift_model": "test_halving"}
        assert drifts(sim)
        levels = torch.tensor([[0, 1, 2, 3]], dtype=torch.uint8)
        n = chip_levels(levels, 4, sim, torch.Generator().manual_seed(0))
        torch.testing.assert_close(n, levels.float() / 3 * 0.5)
        assert not drifts({**sim, "t": 1.0})
    finally:
        del DriftModel.registry["test_halving"]


def test_duplicate_name_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):

        class Again(DriftModel):
            name = "pcm"

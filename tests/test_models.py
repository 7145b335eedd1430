"""Model zoo: forward shapes, geometry coverage, digital layers and user models."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from cimsweep.nn.geometry import layer_geometry
from cimsweep.nn.models import (
    MODELS,
    build_model,
    cim_layers,
    digital_layer_names,
    digital_names,
    load_user_model,
    set_digital_layers,
)

SHAPES = {
    "mlp": [(1, 8, 8), (3, 32, 32)],
    "cnn": [(1, 8, 8), (3, 32, 32)],
    "vgg8": [(3, 32, 32), (1, 28, 28)],
    "resnet18": [(3, 32, 32)],
    "resnet20": [(3, 32, 32), (1, 28, 28)],
    "lenet5": [(1, 28, 28), (3, 32, 32)],
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_shape_and_geometry_cover_every_layer(name: str) -> None:
    for shape in SHAPES[name]:
        torch.manual_seed(0)
        model = build_model(name, shape, 100)
        assert model(torch.randn(2, *shape)).shape == (2, 100)
        every = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        geo = layer_geometry(model, shape)
        assert [g.name for g in geo] == every == [n for n, _ in cim_layers(model)]
        assert all(g.rows > 0 and g.cols > 0 and g.vectors > 0 for g in geo)


def test_vgg8_matches_neurosim_geometry() -> None:
    geo = layer_geometry(build_model("vgg8", (3, 32, 32), 10), (3, 32, 32))
    convs = [(g.rows, g.cols, g.vectors) for g in geo if g.kind == "conv2d"]
    assert convs == [
        (27, 128, 1024),
        (1152, 128, 1024),
        (1152, 256, 256),
        (2304, 256, 256),
        (2304, 512, 64),
        (4608, 512, 64),
    ]
    assert [(g.rows, g.cols) for g in geo if g.kind == "linear"] == [(8192, 1024), (1024, 10)]


def test_resnet_layer_counts() -> None:
    r18 = cim_layers(build_model("resnet18", (3, 32, 32), 100))
    r20 = cim_layers(build_model("resnet20", (3, 32, 32), 10))
    assert len(r18) == 17 + 3 + 1  # 17 3x3 convs, 3 projection shortcuts, fc
    assert len(r20) == 19 + 1
    p20 = sum(p.numel() for p in build_model("resnet20", (3, 32, 32), 10).parameters())
    assert 0.26e6 < p20 < 0.28e6  # He et al.: 0.27M


def test_digital_layers() -> None:
    model = build_model("lenet5", (1, 28, 28), 10)
    names = [n for n, _ in cim_layers(model)]
    assert len(cim_layers(model, "first_last")) == len(names) - 2
    assert cim_layers(model, "first")[0][0] == names[1]
    assert cim_layers(model, ["last"])[-1][0] == names[-2]
    assert digital_layer_names(model, [names[2], "first"]) == {names[0], names[2]}
    with pytest.raises(ValueError, match="not a Conv2d/Linear"):
        cim_layers(model, ["nope"])
    set_digital_layers(model, "first")
    assert [n for n, _ in cim_layers(model)] == names[1:]
    assert len(layer_geometry(model, (1, 28, 28))) == len(names) - 1
    assert len(cim_layers(model, "none")) == len(names)
    assert digital_names(["a", "b", "c"], "first_last") == {"a", "c"}  # torch-free, for PPA


def test_load_user_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "userpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(
        textwrap.dedent("""
        from torch import nn

        class Net(nn.Module):
            def __init__(self, width=4):
                super().__init__()
                self.fc = nn.Linear(3, width)

            def forward(self, x):
                return self.fc(x)

        def not_a_model():
            return 42
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    model = load_user_model("userpkg.nets:Net", {"width": 5})
    assert model.fc.out_features == 5
    ckpt = tmp_path / "w.pt"
    torch.save({"model": model.state_dict(), "epoch": 3}, ckpt)
    again = load_user_model("userpkg.nets:Net", {"width": 5}, str(ckpt))
    assert torch.equal(again.fc.weight, model.fc.weight)
    with pytest.raises(ValueError, match="w.pt"):
        load_user_model("userpkg.nets:Net", {"width": 6}, str(ckpt))
    with pytest.raises(ValueError, match="not a torch nn.Module"):
        load_user_model("userpkg.nets:not_a_model")
    with pytest.raises(ValueError, match="package.module:Name"):
        load_user_model("userpkg.nets.Net")
    with pytest.raises(ValueError, match="cannot import"):
        load_user_model("userpkg.nope:Net")
    evil = tmp_path / "evil.pt"
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil.write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(ValueError, match="evil.pt"):
        load_user_model("userpkg.nets:Net", {}, str(evil))


def test_user_model_mapping_in_the_config_builds_with_its_kwargs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cimsweep.workflow.config import ConfigError, load
    from cimsweep.workflow.steps import _new_model

    pkg = tmp_path / "digitpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "nets.py").write_text(
        textwrap.dedent("""
        from torch import nn

        def make(hidden=4):
            return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 10))
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {"module": "digitpkg.nets:make", "kwargs": {"hidden": 7}}
    sweep = load({"params": {"model": spec}})
    values = sweep.stage_values("train", {"dataset": "digits", "model": "user"})
    assert values["model"] == "user" and values["user_model"] == "digitpkg.nets:make"
    model, _ = _new_model(values)
    assert model[1].out_features == 7
    with pytest.raises(ConfigError, match=r"params.model as a mapping takes module"):
        load({"params": {"model": {"modul": "digitpkg.nets:make"}}})
    with pytest.raises(ConfigError, match=r"params.user_model_kwargs is not valid JSON"):
        load({"params": {"model": "user", "user_model": "a:b", "user_model_kwargs": "{width"}})

"""Drive a DNN+NeuroSim V1.5 checkout's Python backbone on CPU (for the reference generator).

NeuroSim is CC BY-NC 4.0: nothing of it lives in this repository. :func:`load_backbone` copies
the user's checkout of ``pytorch-quantization/pytorch_quantization`` to a scratch directory,
applies four small textual CPU patches there and imports it from that copy.
"""

from __future__ import annotations

import copy
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import torch

BACKBONE = Path("pytorch-quantization") / "pytorch_quantization"
SCRATCH = Path.home() / ".cache" / "cimsweep-neurosim"


@dataclass(frozen=True)
class Patch:
    """One textual replacement in a backbone file (``count``: expected occurrences)."""

    file: str
    old: str
    new: str
    count: int
    why: str


# The CPU patches of /work/shared/neurosim/README.md (and of the issue): the CUDA extension is
# only used for CUDA tensors, the rest hard-codes the device.
CPU_PATCHES = (
    Patch(
        "tensor_quant.py",
        "from pytorch_quantization import cuda_ext\n",
        "try:\n    from pytorch_quantization import cuda_ext\nexcept ImportError:\n"
        "    cuda_ext = None\n",
        1,
        "guard the CUDA-only extension import",
    ),
    Patch("cim/modules/_utils.py", "device='cuda'", "device='cpu'", 7, "device='cuda' -> 'cpu'"),
    Patch(
        "nn/modules/tensor_quantizer.py",
        "state_dict[prefix + '_amax'].data.cuda()",
        "state_dict[prefix + '_amax'].data",
        1,
        "drop .cuda() when loading amax",
    ),
    Patch("calib/histogram.py", ".float().cuda()", ".float()", 2, "drop .cuda() on histograms"),
)


def patched_copy(neurosim: Path, scratch: Path = SCRATCH) -> Path:
    """Copy the checkout's backbone under ``scratch`` and patch it; return the directory to put
    on ``sys.path`` (it holds ``pytorch_quantization/``)."""
    src = Path(neurosim) / BACKBONE
    if not (src / "cim" / "modules" / "macro.py").is_file():
        raise FileNotFoundError(
            f"{neurosim}: not a NeuroSim V1.5 checkout (expected {BACKBONE}/cim/modules/macro.py)"
        )
    root = scratch / "backbone"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(src, root / "pytorch_quantization", ignore=shutil.ignore_patterns("*.pyc"))
    for p in CPU_PATCHES:
        path = root / "pytorch_quantization" / p.file
        text = path.read_text()
        found = text.count(p.old)
        if found != p.count:
            raise ValueError(
                f"{src / p.file}: CPU patch '{p.why}' expected {p.count} occurrence(s) of "
                f"{p.old!r}, found {found}; is this the 2DInferenceV1.5-dev backbone?"
            )
        path.write_text(text.replace(p.old, p.new))
    return root


def load_backbone(neurosim: Path, scratch: Path = SCRATCH) -> ModuleType:
    """Import the patched backbone copy; return its ``pytorch_quantization`` package."""
    root = patched_copy(neurosim, scratch)
    for name in [m for m in sys.modules if m.split(".")[0] == "pytorch_quantization"]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    import pytorch_quantization  # type: ignore[import-not-found]
    import pytorch_quantization.cim  # type: ignore[import-not-found]  # noqa: F401
    import pytorch_quantization.quant_modules  # type: ignore[import-not-found]  # noqa: F401

    return pytorch_quantization


# NeuroSim's inference.py defaults (argparse) for the settings its CIM layers read; the
# generator overrides them per case. mem_states_file "" selects on_state/off_state.
NEUROSIM_DEFAULTS: dict[str, Any] = {
    "sub_array": [128, 128],
    "parallel_read": 128,
    "weight_precision": 8,
    "input_precision": 8,
    "dac_precision": 1,
    "adc_precision": 7,
    "bitcell": 1,
    "mem_type": "resistive",
    "off_state": 1e-6,
    "on_state": 1e-4,
    "mem_states_file": "",
    "vdd": 1.0,
    "read_noise": 0.0,
    "output_noise": 0.0,
    "output_noise_file": "",
    "t": 1.0,
    "v": 0.0,
    "detect": 0,
    "target": 0.0,
    "rate_stuck_0": 0.0,
    "rate_stuck_1": 0.0,
    "input_calib_method": "max",
    "weight_calib_method": "max",
    "adc_calib_method": "max",
    "input_axis": None,
    "weight_axis": 0,
    "adc_axis": None,
    "hardware": 1,
}


def cim_args(**settings: Any) -> SimpleNamespace:
    """The ``args`` namespace NeuroSim's layers read (``inference.py`` flags plus the run-time
    fields its flow sets), NeuroSim defaults overridden by ``settings``."""
    unknown = set(settings) - set(NEUROSIM_DEFAULTS)
    if unknown:
        raise KeyError(f"unknown NeuroSim settings {sorted(unknown)}")
    values = {**NEUROSIM_DEFAULTS, **settings}
    values["sub_array"] = list(values["sub_array"])
    run_time = {
        "hook": False,
        "write_network": False,
        "quant_mode": "adc",
        "calib": False,
        "model": "cimsweep_reference",
        "name": "layer",
        "batch_size": 1,
        "logger": lambda *a, **k: None,
    }
    return SimpleNamespace(**values, **run_time)


def descriptors(pq: ModuleType, args: SimpleNamespace) -> tuple[Any, Any, Any]:
    """Input, weight and ADC quantization descriptors exactly as NeuroSim's ``quantize.py``
    builds them: signed per-tensor inputs, signed weights on ``weight_axis``, unsigned ADC."""
    qd = pq.tensor_quant.QuantDescriptor

    def desc(kind: str, unsigned: bool) -> Any:
        return qd(
            calib_method=getattr(args, f"{kind}_calib_method"),
            num_bits=getattr(args, f"{kind}_precision"),
            fake_quant=True,
            axis=getattr(args, f"{kind}_axis"),
            unsigned=unsigned,
        )

    return desc("input", False), desc("weight", False), desc("adc", True)


def set_defaults(pq: ModuleType, args: SimpleNamespace) -> None:
    """Install descriptors and ``args`` as the CIM classes' defaults, as ``quantize.py`` does
    (the layers deep-copy ``args`` when constructed)."""
    inp, wgt, adc = descriptors(pq, args)
    cim = pq.cim
    for cls in (cim.CIMLinear, cim.CIMConv2d):
        cls.set_default_quant_desc_input(inp)
        cls.set_default_quant_desc_weight(wgt)
        cls.set_default_quant_desc_adc(adc)
        cls.set_default_cim_args(args)
    for cls in (cim.CIMMaxPool2d, cim.CIMAvgPool2d, cim.CIMAdaptiveAvgPool2d):
        cls.set_default_quant_desc_input(inp)
        cls.set_default_cim_args(args)


def set_amax(quantizer: Any, amax: torch.Tensor) -> None:
    """Load a max-calibrated ``amax`` into a TensorQuantizer through its own calibrator."""
    quantizer.disable_quant()
    quantizer.enable_calib()
    quantizer(amax)
    quantizer.load_calib_amax(strict=False)
    quantizer.enable_quant()
    quantizer.disable_calib()


def integer_layer(
    pq: ModuleType, kind: str, weight: torch.Tensor, args: SimpleNamespace, **conv: int
) -> Any:
    """A NeuroSim CIMLinear (``kind`` "linear", weight (out, in)) or CIMConv2d ("conv", weight
    (out, in, kh, kw)) holding integer ``weight``, no bias, quantizers calibrated by max on the
    weight and on a probe reaching max |x| = 127, so the quantizers are exact (scale 1)."""
    set_defaults(pq, args)
    if kind == "linear":
        layer = pq.cim.CIMLinear(weight.shape[1], weight.shape[0], bias=False)
    else:
        layer = pq.cim.CIMConv2d(
            weight.shape[1], weight.shape[0], weight.shape[2], bias=False, **conv
        )
    with torch.no_grad():
        layer.weight.copy_(weight.to(torch.float32))
    # Max calibration: per output row for weights, per tensor for inputs (amax = 127).
    set_amax(layer.weight_quantizer, layer.weight.detach())
    set_amax(layer.input_quantizer, torch.tensor([127.0, -127.0]))
    layer._cim_args.quant_mode = "adc"
    layer._cim_args.hardware = bool(args.hardware)
    return layer.eval()


@contextmanager
def cim_modules(pq: ModuleType) -> Iterator[None]:
    """Monkey-patch torch.nn's Conv2d/Linear/pooling with NeuroSim's CIM modules, as its
    ``quantize.py`` does (``quant_modules.initialize`` with its CIM map), and undo it after."""
    cim = pq.cim
    entry = pq.quant_modules._quant_entry
    cim_map = [
        entry(torch.nn, "Conv2d", cim.CIMConv2d),
        entry(torch.nn, "Linear", cim.CIMLinear),
        entry(torch.nn, "MaxPool2d", cim.CIMMaxPool2d),
        entry(torch.nn, "AvgPool2d", cim.CIMAvgPool2d),
        entry(torch.nn, "AdaptiveAvgPool2d", cim.CIMAdaptiveAvgPool2d),
    ]
    floats = ["Conv2d", "Linear", "AvgPool2d", "MaxPool2d", "AdaptiveAvgPool2d"]
    pq.quant_modules.initialize(float_module_list=floats, custom_quant_modules=cim_map)
    try:
        yield
    finally:
        pq.quant_modules.deactivate()


# ---- NeuroSim's quantization flow on a whole model --------------------------------------------
def neurosim_flow(
    pq: ModuleType,
    build: Any,
    state: dict[str, torch.Tensor],
    args: SimpleNamespace,
    x_calib: torch.Tensor,
    calib_batch: int = 128,
    calib_batches: int = 3,
) -> torch.nn.Module:
    """Build a model with NeuroSim's CIM modules and quantize it the way NeuroSim's
    ``quantize.py`` does: every CIM module (conv, linear, pooling) max-calibrated on
    ``calib_batches`` batches, inputs per tensor signed, weights per output row/channel, the
    first CIM layer left float, ADC mode with ``args.hardware`` for the rest.

    ``build``: a no-argument callable returning the float model (constructed while torch.nn's
    modules are patched, so its Linear/Conv2d/pooling are NeuroSim's)."""
    macro = sys.modules["pytorch_quantization.cim.modules.macro"]
    tq_cls = pq.nn.TensorQuantizer
    hardware = args.hardware
    args = copy.deepcopy(args)
    args.hardware = False  # quantize.py turns hardware off while it calibrates
    set_defaults(pq, args)
    with cim_modules(pq):
        model = build()
    model.load_state_dict(state)
    model.eval()
    layers = []
    for name, m in model.named_modules():
        if isinstance(m, macro.CIM):
            m._cim_args.quant_mode = "iw"
            m._cim_args.name = name
            layers.append(name)
    layer_quant = layers[1:]  # first layer stays float

    def quantizers() -> Iterator[tuple[str, str, Any]]:
        for qname, m in model.named_modules():
            if isinstance(m, tq_cls):
                yield qname, qname.split("._")[0], m

    for qname, lname, m in quantizers():
        if lname not in layers:
            m.disable()
        elif "adc" not in qname and m._calibrator is not None:
            m.disable_quant()
            m.enable_calib()
    with torch.no_grad():
        for b in range(calib_batches):
            model(x_calib[b * calib_batch : (b + 1) * calib_batch])
    for _qname, lname, m in quantizers():
        if lname not in layers:
            m.disable()
        elif m._calibrator is not None:
            m.enable_quant()
            m.disable_calib()
        else:
            m.enable()
    for qname, lname, m in quantizers():
        if lname in layers and m._calibrator is not None and "adc" not in qname:
            m.load_calib_amax(strict=False)
    for _qname, lname, m in quantizers():
        if lname not in layer_quant:
            m.disable()
    for m in model.modules():
        if isinstance(m, macro.CIM):
            m._cim_args.quant_mode = "adc"
            m._cim_args.hardware = hardware
    return model


@contextmanager
def wrapped(patches: list[tuple[Any, str, Any]]) -> Iterator[None]:
    """Replace ``owner.name`` by ``wrap(original)`` for every ``(owner, name, wrap)`` while the
    context is active; restore the originals after (also on error)."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    for (owner, name, orig), (_, _, wrap) in zip(originals, patches, strict=True):
        setattr(owner, name, wrap(orig))
    try:
        yield
    finally:
        for owner, name, orig in originals:
            setattr(owner, name, orig)


def _rounding(orig: Any) -> Any:
    """A method like ``orig`` whose two returned code tensors are rounded."""

    def method(self: Any, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = orig(self, x)
        return a.round(), b.round()

    return method


def rounded_codes(pq: ModuleType) -> Any:
    """For a comparison run only: round the near-integer codes that CIMLinear/CIMConv2d cast
    to int32 (NeuroSim truncates them toward zero, its bug), by wrapping their methods
    (a context manager)."""
    conv = sys.modules["pytorch_quantization.cim.modules.cim_conv"]._CIMConvNd
    return wrapped([(pq.cim.CIMLinear, "_to_int", _rounding), (conv, "_quant", _rounding)])

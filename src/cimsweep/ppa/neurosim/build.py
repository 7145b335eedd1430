"""Patch a copy of a user's NeuroSim ``Param.cpp`` and build it once per distinct source.

Builds live in ``$CIMSWEEP_CACHE`` (default ``~/.cache/cimsweep``) under
``neurosim/<hash of the patched sources>/``; a file lock makes concurrent (Slurm) jobs that want
the same build wait for one ``make``. Object files of an earlier build of the same tree (other
sources identical) are reused, so a new hardware point recompiles ``Param.cpp`` only.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SOURCE_SUFFIXES = (".cpp", ".h")
MAKEFILES = ("makefile", "Makefile")


class NeuroSimBuildError(RuntimeError):
    """NeuroSim could not be patched or built (the message carries the compiler's output)."""


def cache_root() -> Path:
    """Root of the cimsweep cache (``$CIMSWEEP_CACHE`` or ``~/.cache/cimsweep``)."""
    return Path(os.environ.get("CIMSWEEP_CACHE", Path.home() / ".cache" / "cimsweep"))


def source_dir(neurosim_dir: str | os.PathLike[str]) -> Path:
    """The folder holding ``Param.cpp`` and ``main.cpp``: ``neurosim_dir`` itself, or its
    ``NeuroSIM`` / ``Inference_pytorch/NeuroSIM`` subfolder (V1.4 and V1.5 checkouts)."""
    root = Path(neurosim_dir).expanduser()
    for cand in (root, root / "NeuroSIM", root / "Inference_pytorch" / "NeuroSIM"):
        if (cand / "Param.cpp").is_file() and (cand / "main.cpp").is_file():
            return cand
    raise NeuroSimBuildError(
        f"neurosim_dir = {str(neurosim_dir)!r}: no Param.cpp and main.cpp there or in its "
        "NeuroSIM/ or Inference_pytorch/NeuroSIM/ subfolder (expected a NeuroSim V1.4 or V1.5 "
        "source tree)"
    )


def neurosim_version(src: Path) -> str:
    """``"1.4"`` or ``"1.5"`` of the NeuroSim tree in ``src`` (a :func:`source_dir`).

    V1.5(-dev) knows the ``nvCap`` (capacitive) cell, which V1.4 has no trace of; a tree without
    it is V1.4 (its ``Inference_pytorch/NeuroSIM`` layout, or a bare copy of that folder).
    """
    main = (src / "main.cpp").read_bytes()
    if b"nvCap" in main or b"nvCap" in (src / "Param.cpp").read_bytes():
        return "1.5"
    return "1.4"


def patched_values(hw: Mapping[str, Any], version: str = "1.4") -> dict[str, str]:
    """The ``Param.cpp`` user-defined values a normalized ``hw`` maps to (C++ literals).

    V1.4 and V1.5 name their user-defined block the same way: memcelltype (1 SRAM, 2 RRAM; in
    V1.5 4 = nvCap for ``mem_type: capacitive``), technode, cellBit, levelOutput (2^adc bits),
    SARADC (sar vs flash = NeuroSim's multilevel sense amp), numColSubArray/numRowSubArray,
    numColMuxed, pipeline, and for RRAM resistanceOn/Off (1/on_state, 1/off_state, ohm).
    """
    sram = str(hw["cell_type"]).startswith("SRAM")
    rows, cols = hw["sub_array"]
    out = {
        "memcelltype": "1" if sram else "2",
        "technode": str(int(hw["tech_node"])),
        "cellBit": str(1 if sram else int(hw["bitcell"])),
        "levelOutput": str(2 ** int(hw["adc_precision"])),
        "SARADC": "true" if hw["adc_type"] == "sar" else "false",
        "numRowSubArray": str(int(rows)),
        "numColSubArray": str(int(cols)),
        "numColMuxed": str(int(hw["column_mux"])),
        "pipeline": "true" if hw["ppa_mode"] == "pipeline" else "false",
    }
    if not sram and version == "1.5" and hw["mem_type"] == "capacitive":
        out["memcelltype"] = "4"
    if not sram and hw["mem_type"] == "resistive":
        out["resistanceOn"] = repr(1.0 / float(hw["on_state"]))
        out["resistanceOff"] = repr(1.0 / float(hw["off_state"]))
    return out


def patch_param_cpp(text: str, values: Mapping[str, str], where: str = "Param.cpp") -> str:
    """``text`` with the first top-level assignment of each name set to its value.

    Everything else of the user's file (their institute's fixed choices) is kept. Raises
    :class:`NeuroSimBuildError` naming a parameter the file does not assign.
    """
    for name, value in values.items():
        pattern = re.compile(rf"^(\s*{re.escape(name)}\s*=\s*)([^;]*)(;)", re.MULTILINE)
        text, n = pattern.subn(rf"\g<1>{value.replace(chr(92), chr(92) * 2)}\g<3>", text, count=1)
        if n != 1:
            raise NeuroSimBuildError(f"{where}: no assignment '{name} = ...;' to patch")
    return text


def _sources(src: Path) -> dict[str, bytes]:
    files = sorted(
        p
        for p in src.iterdir()
        if p.is_file() and (p.suffix in SOURCE_SUFFIXES or p.name in MAKEFILES)
    )
    return {p.name: p.read_bytes() for p in files}


def _digest(files: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for name, data in sorted(files.items()):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:20]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(neurosim_dir: str | os.PathLike[str], hw: Mapping[str, Any]) -> Path:
    """Path of the ``main`` binary built from ``neurosim_dir`` with ``Param.cpp`` patched for
    ``hw`` (normalized "ppa" values); built at most once per distinct patched source."""
    src = source_dir(neurosim_dir)
    files = _sources(src)
    values = patched_values(hw, neurosim_version(src))
    files["Param.cpp"] = patch_param_cpp(
        files["Param.cpp"].decode("utf-8", "replace"), values, str(src / "Param.cpp")
    ).encode()
    key = _digest(files)
    base_key = _digest({k: v for k, v in files.items() if k != "Param.cpp"})
    root = cache_root() / "neurosim"
    out = root / key
    binary = out / "main"
    with _locked(root / f"{key}.lock"):
        if binary.is_file():
            return binary
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        try:
            shutil.copytree(
                src, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("main", "*.o")
            )
            donor = _object_donor(root, base_key)
            if donor is not None:
                for obj in donor.glob("*.o"):
                    if obj.name != "Param.o":
                        shutil.copy2(obj, tmp / obj.name)
            (tmp / "Param.cpp").write_bytes(files["Param.cpp"])
            (tmp / "Param.cpp").touch()
            jobs = str(max(1, min(os.cpu_count() or 1, 4)))
            proc = subprocess.run(
                ["make", "-j", jobs], cwd=tmp, capture_output=True, text=True, check=False
            )
            if proc.returncode != 0 or not (tmp / "main").is_file():
                tail = (proc.stdout + proc.stderr)[-2000:]
                raise NeuroSimBuildError(f"make in a copy of {src} failed:\n{tail}")
            (tmp / "BASE_KEY").write_text(base_key)
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return binary


def _object_donor(root: Path, base_key: str) -> Path | None:
    """An earlier build of the same non-Param sources (its object files can be reused)."""
    for cand in sorted(root.glob("*/BASE_KEY")):
        if cand.read_text().strip() == base_key:
            return cand.parent
    return None

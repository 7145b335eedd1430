"""What produced a result: the source code each workflow stage runs, and the software around it.

:func:`code_hash` hashes, from the files on disk, the cimsweep modules a stage imports (a
package subtree list per stage, :data:`STAGE_CODE`). The rules pass it as a ``params`` entry,
so Snakemake's params trigger reruns exactly the stages whose code changed: an edit of the
plotting code reruns the figures only, one of the PPA model the PPA jobs (and the table and
figures downstream of them).

:func:`activate` (called by each workflow script) makes :mod:`cimsweep.io`'s JSON writer stamp
every result file with :func:`record`: cimsweep version and the stage's source hash, torch,
Python, the platform and the git commit of the source tree when there is one.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/cimsweep

# Modules every step runs: the step functions, config and parameter handling, file helpers.
CORE: tuple[str, ...] = (
    "__init__.py",
    "io.py",
    "layout.py",
    "registry.py",
    "signed_mapping.py",
    "workflow/__init__.py",
    "workflow/checks.py",
    "workflow/chunkrun.py",
    "workflow/chunks.py",
    "workflow/config.py",
    "workflow/params",
    "workflow/provenance.py",
    "workflow/steps",
    "workflow/tabulate.py",
)
# Paths relative to src/cimsweep that each stage imports (a folder: every .py and .c file below
# it, e.g. the read kernel).
STAGE_CODE: dict[str, tuple[str, ...]] = {
    "data": (*CORE, "data"),
    "train": (*CORE, "data", "nn", "training"),
    "geometry": (*CORE, "data", "nn"),
    "calib": (*CORE, "data", "nn"),
    "infer": (*CORE, "data", "nn", "training", "cim"),
    "ppa": (*CORE, "ppa"),
    "aggregate": (*CORE, "results.py"),
    "plot": (*CORE, "results.py", "plots", "workflow/figspec.py"),
    "sweep_config": CORE,
}


def stage_files(stage: str, root: Path = PACKAGE_DIR) -> list[Path]:
    """The source files (sorted) whose content :func:`code_hash` covers for ``stage``."""
    try:
        entries = STAGE_CODE[stage]
    except KeyError:
        raise ValueError(f"unknown stage {stage!r}; expected one of {sorted(STAGE_CODE)}") from None
    files: set[Path] = set()
    for entry in entries:
        path = root / entry
        if path.is_dir():
            files.update(
                p
                for p in path.rglob("*")
                if p.suffix in (".py", ".c") and "__pycache__" not in p.parts
            )
        elif path.is_file():
            files.add(path)
    return sorted(files)


def code_hash(stage: str, root: Path = PACKAGE_DIR) -> str:
    """SHA-256 (hex, 16 digits) of the names and contents of a stage's source files on disk."""
    digest = hashlib.sha256()
    for path in stage_files(stage, root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@cache
def git_commit(root: Path = PACKAGE_DIR) -> str | None:
    """The git commit of the source tree (``+dirty`` when it has uncommitted changes), or None."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "."],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = "+dirty" if status.returncode == 0 and status.stdout.strip() else ""
    return head.stdout.strip() + dirty


def record(stage: str) -> dict[str, Any]:
    """Provenance of a result written by ``stage``."""
    import cimsweep

    return {
        "stage": stage,
        "cimsweep_version": cimsweep.__version__,
        "source_hash": code_hash(stage),
        "torch_version": _version("torch"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": git_commit(),
    }


_active: dict[str, Any] = {}


def activate(stage: str) -> dict[str, Any]:
    """Start a workflow step: stamp every JSON result this process writes
    (:func:`cimsweep.io.write_json`) with the provenance of ``stage``, log it, and send an
    uncaught exception's traceback to the log too (the rule's log, set up before); return the
    record."""
    _active.clear()
    _active.update(record(stage))
    log = logging.getLogger("cimsweep")
    log.info("provenance: %s", describe(_active))
    previous = sys.excepthook

    def _log_and_raise(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        log.error("%s failed", stage, exc_info=(kind, exc, tb))
        previous(kind, exc, tb)

    sys.excepthook = _log_and_raise
    return dict(_active)


def stamp(obj: Any) -> Any:
    """``obj`` with a ``provenance`` entry when a stage is active and ``obj`` is a mapping."""
    if _active and isinstance(obj, Mapping) and "provenance" not in obj:
        return {**obj, "provenance": dict(_active)}
    return obj


def active() -> dict[str, Any] | None:
    """The active provenance record, or None outside a workflow step."""
    return dict(_active) if _active else None


def describe(rec: Mapping[str, Any]) -> str:
    """One log line naming the software that produced a result."""
    return ", ".join(f"{k}={v}" for k, v in rec.items())


if __name__ == "__main__":  # python -m cimsweep.workflow.provenance: every stage's hash
    for name in STAGE_CODE:
        print(f"{name:13s} {code_hash(name)}")
    sys.exit(0)

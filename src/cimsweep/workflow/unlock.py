"""Drop the directory lock a hard-killed Snakemake left behind, and only that one.

``python -m cimsweep.workflow.unlock [DIR]`` (``make run`` calls it first) removes
``DIR/.snakemake/locks/*`` when no live Snakemake process works in ``DIR``: one whose working
directory or ``--directory``/``-d`` argument is ``DIR``, started as ``snakemake`` or
``python -m snakemake``. Snakemake runs elsewhere (another sweep of yours) do not count, and
the caller (``make``, its shell) never matches itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path


def _ancestors() -> set[int]:
    """This process and its parents (a shell whose command line names snakemake is not one)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return pids


def _is_snakemake(argv: list[str]) -> bool:
    """A Snakemake main process: ``.../snakemake ...``, ``python .../snakemake ...`` or
    ``python -m snakemake ...`` (job scripts under ``.snakemake/scripts`` are not)."""
    if not argv:
        return False
    if Path(argv[0]).name == "snakemake":
        return True
    if Path(argv[0]).name.startswith("python"):
        rest = [a for a in argv[1:] if not a.startswith("-") or a == "-m"]
        if rest[:2] == ["-m", "snakemake"]:
            return True
        return bool(rest) and Path(rest[0]).name == "snakemake"
    return False


def _workdir(pid: str, argv: list[str]) -> Path | None:
    cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    for i, arg in enumerate(argv):
        if arg in ("--directory", "-d") and i + 1 < len(argv):
            return (cwd / argv[i + 1]).resolve()
        if arg.startswith("--directory="):
            return (cwd / arg.split("=", 1)[1]).resolve()
    return cwd.resolve()


def holders(directory: str | os.PathLike[str] = ".") -> Iterator[int]:
    """Process ids of live Snakemake runs working in ``directory`` (this process and its
    ancestors excluded)."""
    target, skip = Path(directory).resolve(), _ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in skip:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
            if _is_snakemake(argv) and _workdir(entry.name, argv) == target:
                yield int(entry.name)
        except OSError:  # gone, or another user's process
            continue


def drop_stale_lock(directory: str | os.PathLike[str] = ".") -> list[Path]:
    """Remove ``directory``'s Snakemake locks when no live run holds them; return the removed."""
    locks = Path(directory) / ".snakemake" / "locks"
    files = sorted(p for p in locks.glob("*") if p.is_file()) if locks.is_dir() else []
    if not files or next(holders(directory), None) is not None:
        return []
    for path in files:
        path.unlink(missing_ok=True)
    return files


def main(argv: list[str]) -> int:
    """Command line: drop a stale lock of the directory given (default: the current one)."""
    directory = argv[0] if argv else "."
    removed = drop_stale_lock(directory)
    if removed:
        print(
            f"removed the lock a killed Snakemake run left in {Path(directory).resolve()} "
            f"({len(removed)} file(s)); resuming",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run a chunk job (:mod:`cimsweep.workflow.chunks`): each member point's result file, skipping
those already up to date, then the chunk's marker file.

A point's file is up to date when it parses, holds the point's own ``params`` (the check of
:func:`cimsweep.results.read_result`), was written by the stage's current source (its
provenance ``source_hash``) and is newer than every input of the chunk (a retrained model or a
new calibration recomputes it). A point failing unexpectedly does not stop the others: the job
fails at the end naming every such point, and its rerun recomputes only those.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cimsweep.io import write_json
from cimsweep.workflow.params import Value
from cimsweep.workflow.provenance import active, code_hash

log = logging.getLogger("cimsweep")


class ChunkError(RuntimeError):
    """Some points of a chunk failed; their results are missing, the others are written."""


def newest_mtime(paths: Sequence[str]) -> float:
    """Latest modification time (s since the epoch) of ``paths``; 0 for none."""
    return max((os.path.getmtime(p) for p in paths), default=0.0)


def up_to_date(path: str, values: Mapping[str, Value], stage: str, newer_than: float) -> bool:
    """Whether ``path`` holds this point's result from the stage's current code, written after
    every input (``newer_than``, s since the epoch)."""
    from cimsweep.results import ResultFileError, read_result

    if not os.path.exists(path) or os.path.getmtime(path) < newer_than:
        return False
    try:
        data = read_result(path, values)
    except ResultFileError:
        return False
    current = (active() or {}).get("source_hash") or code_hash(stage)
    return bool((data.get("provenance") or {}).get("source_hash") == current)


def run_chunk(
    stage: str,
    members: Sequence[tuple[str, Mapping[str, Value]]],
    inputs: Sequence[str],
    marker: str,
    compute: Callable[[str, Mapping[str, Value]], None],
) -> dict[str, Any]:
    """Compute every member ``(result path, values)`` not up to date with ``compute(path,
    values)``, then write the marker (the members' paths and what was done); return it."""
    newer_than = newest_mtime(inputs)
    computed: list[str] = []
    skipped: list[str] = []
    errors: list[str] = []
    for i, (path, values) in enumerate(members, 1):
        if up_to_date(path, values, stage, newer_than):
            skipped.append(path)
            continue
        log.info("point %d of %d: %s", i, len(members), path)
        try:
            compute(path, values)
        except Exception as exc:  # any failure of one point: the others still run
            log.exception("point %s failed", path)
            errors.append(f"{path} ({type(exc).__name__}: {exc})")
            continue
        computed.append(path)
    log.info("%d points computed, %d up to date", len(computed), len(skipped))
    if errors:
        raise ChunkError(
            f"{len(errors)} of {len(members)} {stage} points of this chunk failed (the others are "
            f"written and kept; a rerun computes only the failed ones): {'; '.join(errors)}"
        )
    report = {
        "stage": stage,
        "points": [path for path, _ in members],
        "computed": len(computed),
        "skipped": len(skipped),
    }
    write_json(marker, report)
    return report

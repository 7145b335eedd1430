"""Chunk jobs: many cheap per-point jobs (inference, PPA) planned as few Snakemake jobs.

Snakemake's planning costs about 4 ms and 40 KB per job, so a 10,000-point grid of one job per
point takes close to a minute and 400 MB before anything runs. Above a size
(``params.points_per_job``) the points of one stage that share their inputs (inference: one
trained model and calibration; PPA: one data set and model) are split into chunks, one job
each. A chunk job writes the same per-point result files as the per-point jobs, each
atomically, skips a point whose file is already up to date (:mod:`cimsweep.workflow.chunkrun`)
and then writes a small marker file, the only output Snakemake tracks.

Chunk membership is a stable function of each point: a hash of its own path tokens picks one of
``2**k`` buckets, with ``2**k`` the smallest power of two that keeps chunks at most
``points_per_job`` points on average. Adding grid values adds points to chunks (whose jobs then
rerun and skip every point already computed) and, when a group doubles its bucket count, splits
each chunk in two; no per-point result is ever recomputed because of a regrouping.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cimsweep.workflow.config import RESULT_FILES, Sweep
from cimsweep.workflow.params import stage_all_params

# A stage with more jobs than this is chunked when params.points_per_job is 0 (automatic).
AUTO_THRESHOLD = 1_000
AUTO_POINTS_PER_JOB = 100
CHUNKED_STAGES = ("infer", "ppa")
# Value of the `chunk` wildcard: "<buckets>-<bucket>".
CHUNK_PATTERN = r"\d+-\d+"

_WILDCARD = re.compile(r"{(\w+)}")


def points_per_job(sweep: Sweep, stage: str, jobs: int) -> int:
    """Points per job of ``stage`` with ``jobs`` distinct points: 1 means one job per point."""
    if stage not in CHUNKED_STAGES:
        return 1
    if stage == "ppa" and "neurosim" in sweep.grid.get(
        "ppa_backend", [sweep.values["ppa_backend"]]
    ):
        return 1  # NeuroSim runs take minutes each and load the trained model: keep them apart
    given = int(sweep.values["points_per_job"])
    if given == 0:
        return AUTO_POINTS_PER_JOB if jobs > AUTO_THRESHOLD else 1
    return given


def parent_dir(sweep: Sweep, stage: str) -> str:
    """Wildcard pattern of the directory whose inputs a stage's chunk shares."""
    if stage == "infer":
        return sweep.stage_dir("calib")
    if stage == "ppa":
        return "{dataset}/ppa/{model}"
    raise ValueError(f"stage {stage!r} has no chunk jobs; expected one of {CHUNKED_STAGES}")


def marker_pattern(sweep: Sweep, stage: str, root: str = "results") -> str:
    """Path pattern of a chunk's marker file (wildcards of the parent directory and ``chunk``)."""
    return f"{root}/chunks/{parent_dir(sweep, stage)}/{stage}-{{chunk}}.json"


def bucket(member: tuple[str, ...], buckets: int) -> int:
    """Stable bucket (0 .. buckets-1) of a point from its own path tokens."""
    digest = hashlib.sha256("\x1f".join(member).encode()).digest()
    return int.from_bytes(digest[:8], "little") % buckets


@dataclass
class ChunkPlan:
    """The chunks of one stage: per parent directory (its wildcard values), chunk name ->
    the member points' own path tokens."""

    stage: str
    parent: tuple[str, ...]  # wildcard names of the parent directory
    own: tuple[str, ...]  # wildcard names of the stage's path below it
    marker: str  # marker path pattern
    result: str  # per-point result path pattern
    chunks: dict[tuple[str, ...], dict[str, list[tuple[str, ...]]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks.values())

    def markers(self) -> list[str]:
        """Every chunk's marker path."""
        return [
            self.marker.format(**dict(zip(self.parent, key, strict=True)), chunk=name)
            for key, chunks in self.chunks.items()
            for name in chunks
        ]

    def _members(self, wildcards: Mapping[str, str]) -> list[tuple[str, ...]]:
        key = tuple(wildcards[n] for n in self.parent)
        try:
            return self.chunks[key][wildcards["chunk"]]
        except KeyError:
            raise ValueError(
                f"no {self.stage} chunk {wildcards.get('chunk')!r} for {dict(wildcards)}: the "
                "grid or params.points_per_job changed since it was planned"
            ) from None

    def members(self, wildcards: Mapping[str, str]) -> list[dict[str, str]]:
        """Path tokens of every point of the chunk named by ``wildcards`` (parent and chunk)."""
        base = {n: wildcards[n] for n in self.parent}
        return [{**base, **dict(zip(self.own, m, strict=True))} for m in self._members(wildcards)]

    def result_paths(self, wildcards: Mapping[str, str]) -> list[str]:
        """The per-point result files a chunk writes."""
        return [self.result.format(**p) for p in self.members(wildcards)]

    def owner(self, point: Mapping[str, str]) -> str:
        """Marker path of the chunk holding a point (all the stage's path tokens filled)."""
        key = tuple(point[n] for n in self.parent)
        buckets = int(next(iter(self.chunks[key])).split("-")[0])
        name = f"{buckets}-{bucket(tuple(point[n] for n in self.own), buckets)}"
        return self.marker.format(**dict(zip(self.parent, key, strict=True)), chunk=name)


def plan(sweep: Sweep, stage: str, root: str = "results") -> ChunkPlan | None:
    """The chunks of ``stage``, or None where it runs one job per point."""
    if stage not in CHUNKED_STAGES:
        return None
    parent = parent_dir(sweep, stage)
    names = list(dict.fromkeys(_WILDCARD.findall(sweep.stage_dir(stage))))
    parent_names = tuple(dict.fromkeys(_WILDCARD.findall(parent)))
    own = tuple(n for n in names if n not in parent_names)
    groups: dict[tuple[str, ...], dict[tuple[str, ...], None]] = {}
    for point in sweep.stage_points(stage):
        key = tuple(point[n] for n in parent_names)
        groups.setdefault(key, {})[tuple(point[n] for n in own)] = None
    jobs = sum(len(g) for g in groups.values())
    size = points_per_job(sweep, stage, jobs)
    if size <= 1:
        return None
    result = f"{root}/{sweep.stage_dir(stage)}/{RESULT_FILES[stage]}"
    out = ChunkPlan(stage, parent_names, own, marker_pattern(sweep, stage, root), result)
    for key, members in groups.items():
        buckets = 2 ** max(0, math.ceil(math.log2(len(members) / size)))
        chunks: dict[str, list[tuple[str, ...]]] = {}
        for member in members:
            chunks.setdefault(f"{buckets}-{bucket(member, buckets)}", []).append(member)
        out.chunks[key] = dict(sorted(chunks.items(), key=lambda kv: int(kv[0].split("-")[1])))
    return out


def members_of(
    sweep: Sweep, stage: str, points: list[dict[str, str]], root: str = "results"
) -> list[tuple[str, dict[str, Any]]]:
    """``(result path, stage values)`` of each of a chunk's points (path tokens)."""
    return [(sweep.result_path(stage, p, root), sweep.stage_values(stage, p)) for p in points]


def owners(sweep: Sweep, root: str = "results") -> list[tuple[str | None, str | None]]:
    """For every grid point (``Sweep.points()`` order), the marker of the chunk that writes its
    (inference, PPA) result, None where that stage runs one job per point."""
    infer, ppa = plan(sweep, "infer", root), plan(sweep, "ppa", root)
    out: list[tuple[str | None, str | None]] = []
    for point in sweep.points():
        filled = sweep.fill(point)
        out.append((infer.owner(filled) if infer else None, ppa.owner(filled) if ppa else None))
    return out


def settings(sweep: Sweep, stage: str) -> str:
    """Everything a stage's points read besides their own path tokens (the config's values of
    the stage's unswept parameters and which keys were given), as canonical JSON: a chunk
    rule's ``params`` entry, so that changing one reruns the chunks."""
    names = ("dataset", "model", *stage_all_params(stage)) if stage == "ppa" else ()
    names = names or stage_all_params(stage)
    values = {n: sweep.values[n] for n in names if n not in sweep.grid}
    return json.dumps(
        {"values": values, "explicit": sorted(sweep.explicit & set(names))},
        sort_keys=True,
        default=str,
    )

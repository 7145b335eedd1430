"""Readers of measured device profiles named by the config (no torch: config checks use them).

* ``mem_states_file``: the cell's levels, one row per state (lowest first), columns
  ``mean,std`` in S (resistive) or F (capacitive); :func:`read_mem_states`.
* ``output_noise_file``: per-level column-output statistics, columns ``level,mean,std`` in unit
  products (one DAC input step times one cell level step); :func:`read_output_noise`.

Both raise :class:`DeviceFileError` naming the file and what was expected; the config check
prefixes the parameter name.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

MEM_STATES_COLUMNS = ("mean", "std")
OUTPUT_NOISE_COLUMNS = ("level", "mean", "std")


class DeviceFileError(ValueError):
    """A device profile file that is missing or malformed."""


@dataclass(frozen=True)
class MemStates:
    """Per-state mean and std of a cell's level (S or F), lowest state first."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def count(self) -> int:
        return len(self.mean)


@dataclass(frozen=True)
class OutputNoise:
    """Column-output statistics (unit products) at increasing noise-free output levels."""

    level: tuple[float, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]


def _read_columns(path: str | Path, columns: tuple[str, ...]) -> dict[str, list[float]]:
    """Numeric columns of a CSV with exactly ``columns`` as its header (any order)."""
    expect = f"a CSV file with header {','.join(columns)} and one numeric row per entry"
    p = Path(path)
    if not p.is_file():
        what = "is a folder" if p.is_dir() else "does not exist"
        raise DeviceFileError(f"file {str(path)!r} {what}; expected {expect}")
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            rows = [(reader.line_num, r) for r in reader if any(cell.strip() for cell in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DeviceFileError(
            f"file {str(path)!r} cannot be read ({exc}); expected {expect}"
        ) from None
    if not rows:
        raise DeviceFileError(f"file {str(path)!r} is empty; expected {expect}")
    header = [h.strip().lower() for h in rows[0][1]]
    if sorted(header) != sorted(columns):
        missing = [c for c in columns if c not in header]
        extra = [h for h in header if h not in columns]
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"unexpected {', '.join(repr(e) for e in extra)}" if extra else "",
                "duplicate columns" if not missing and not extra else "",
            )
            if part
        )
        raise DeviceFileError(
            f"file {str(path)!r} has columns {','.join(header)} ({detail}); expected exactly "
            f"the columns {','.join(columns)}"
        )
    if len(rows) < 2:
        raise DeviceFileError(
            f"file {str(path)!r} has a header but no data rows; expected {expect}"
        )
    out: dict[str, list[float]] = {c: [] for c in columns}
    lines: list[float] = []  # line numbers (ints), kept beside the float columns
    for line, row in rows[1:]:
        lines.append(line)
        if len(row) != len(header):
            raise DeviceFileError(
                f"file {str(path)!r} line {line} has {len(row)} cells; expected {len(header)} "
                f"({','.join(header)})"
            )
        for name, cell in zip(header, row, strict=True):
            try:
                value = float(cell)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                raise DeviceFileError(
                    f"file {str(path)!r} line {line}, column {name}: {cell.strip()!r} is not a "
                    "finite number; expected a number"
                )
            out[name].append(value)
    out["line"] = lines
    return out


def _check_std(path: str | Path, cols: dict[str, list[float]]) -> None:
    for line, s in zip(cols["line"], cols["std"], strict=True):
        if s < 0:
            raise DeviceFileError(
                f"file {str(path)!r} line {line}: std = {s} is negative; expected std >= 0"
            )


def _check_increasing(path: str | Path, cols: dict[str, list[float]], name: str, what: str) -> None:
    values = cols[name]
    for i in range(1, len(values)):
        if not values[i] > values[i - 1]:
            raise DeviceFileError(
                f"file {str(path)!r} line {cols['line'][i]}: {name} = {values[i]} does not "
                f"exceed the previous row's {values[i - 1]}; expected {what}"
            )


def read_mem_states(path: str | Path, states: int | None = None) -> MemStates:
    """Cell states of a ``mean,std`` CSV; ``states``: the required row count (2**bitcell)."""
    cols = _read_columns(path, MEM_STATES_COLUMNS)
    mean, std = cols["mean"], cols["std"]
    if mean[0] < 0:
        raise DeviceFileError(
            f"file {str(path)!r} line {cols['line'][0]}: mean = {mean[0]} is negative; "
            "expected levels >= 0 (S or F)"
        )
    _check_increasing(path, cols, "mean", "means strictly increasing from the lowest state")
    _check_std(path, cols)
    if states is not None:
        check_state_count(path, len(mean), states)
    return MemStates(tuple(mean), tuple(std))


def check_state_count(path: str | Path, rows: int, states: int) -> None:
    """Refuse a states file whose row count is not the cell's level count."""
    if rows != states:
        bits = int(math.log2(states)) if states > 0 else 0
        raise DeviceFileError(
            f"file {str(path)!r} lists {rows} states; expected {states} = 2**bitcell rows "
            f"for bitcell = {bits}"
        )


def read_output_noise(path: str | Path) -> OutputNoise:
    """Per-level output statistics of a ``level,mean,std`` CSV."""
    cols = _read_columns(path, OUTPUT_NOISE_COLUMNS)
    _check_increasing(path, cols, "level", "levels strictly increasing")
    _check_std(path, cols)
    return OutputNoise(tuple(cols["level"]), tuple(cols["mean"]), tuple(cols["std"]))

"""Logging and failure records shared by the workflow steps."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from cimsweep.io import write_json
from cimsweep.workflow.params import Value
from cimsweep.workflow.tabulate import _jsonable

log = logging.getLogger("cimsweep")


def setup_logging(log_path: str | None) -> None:
    """Send cimsweep's progress (INFO) to ``log_path``, the rule's log; warnings also to stderr."""
    console = logging.StreamHandler()
    console.setLevel(logging.WARNING)
    handlers: list[logging.Handler] = [console]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("cimsweep").setLevel(logging.INFO)


@contextmanager
def failure_recorded(out_json: str, values: Mapping[str, Value]) -> Iterator[None]:
    """Turn a run-time configuration failure of one grid point into a ``failed`` result file.

    The simulator or estimator raising ValueError, ArithmeticError or RuntimeError for this
    point (e.g. a configuration that is impossible only at run time) writes
    ``{"status": "failed", "error": ...}`` so the sweep's other points, the table and the
    figures go on. Out-of-memory errors are re-raised: a retry with more memory may succeed.
    """
    try:
        yield
    except (ValueError, ArithmeticError, RuntimeError) as exc:
        if "out of memory" in str(exc).lower():
            raise
        log.exception("grid point failed; recorded in %s", out_json)
        error = f"{type(exc).__name__}: {exc}"
        write_json(out_json, {"params": _jsonable(values), "status": "failed", "error": error})

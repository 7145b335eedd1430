"""Write ``workflow/schemas/config.schema.yaml``, the config's JSON schema, from the parameter
declarations.

``python -m cimsweep.workflow.schema`` regenerates it and ``config/README.md`` (the catalog's
user page, :mod:`cimsweep.workflow.config_page`); with a path argument, only the schema.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import yaml

from cimsweep.io import write_with
from cimsweep.workflow.config import json_schema

DEFAULT_PATH = "workflow/schemas/config.schema.yaml"
CONFIG_PAGE = "config/README.md"
HEADER = (
    "# Generated from src/cimsweep/workflow/params/ by "
    "`python -m cimsweep.workflow.schema`; do not edit.\n"
)


def render() -> str:
    """The schema file's text."""
    return HEADER + yaml.safe_dump(json_schema(), sort_keys=False)


def _write_text(tmp: Path, text: str) -> None:
    tmp.write_text(text)


def main(argv: list[str] | None = None) -> int:
    """Write the schema to the given path (default: the schema and the config page)."""
    from cimsweep.workflow import config_page

    args = sys.argv[1:] if argv is None else argv
    outputs = (
        {Path(args[0]): render()}
        if args
        else {
            Path(DEFAULT_PATH): render(),
            Path(CONFIG_PAGE): config_page.render(),
        }
    )
    for path, text in outputs.items():
        write_with(path, functools.partial(_write_text, text=text))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""mkdocs hook: the parameter reference rendered from ``PARAMS``, and the example listings."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# The tree's own sources, also when the installed cimsweep is another checkout.
sys.path.insert(0, str(ROOT / "src"))

MARKER = "<!-- parameter table -->"
EXAMPLE = re.compile(r"<!-- example: ([0-9A-Za-z_]+\.py) -->")


def _listing(match: re.Match[str]) -> str:
    text = (ROOT / "examples" / match.group(1)).read_text()
    return f"```python\n{text}```"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Put the rendered parameter tables and the example scripts in place of their markers."""
    markdown = EXAMPLE.sub(_listing, markdown)
    if MARKER not in markdown:
        return markdown
    from cimsweep.workflow.paramdoc import covers_all, render

    if not covers_all():
        raise RuntimeError("cimsweep.workflow.paramdoc.SECTIONS misses a parameter module")
    return markdown.replace(MARKER, render())

"""Config files read as YAML 1.2 (core schema), as the workflow plans them.

PyYAML, which Snakemake uses for ``--configfile``, follows YAML 1.1: ``032`` is octal (26),
``1e-4`` is a *string* (1.1 floats need a dot), ``yes``/``on`` are booleans. YAML 1.2 reads
``032`` as 32, ``1e-4`` as 0.0001 and ``yes``/``on`` as strings. :func:`reload` re-reads the
config files Snakemake loaded with :class:`Yaml12Loader` and re-applies ``--config`` on top, so
the values that reach the planning are 1.2's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import yaml


class ConfigFileError(ValueError):
    """A config file that cannot be read, naming the file (and line)."""


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema scalars (no dates, octal only as 0o)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag.rsplit(":", 1)[-1] in ("merge", "value")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CORE = [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
]
for _name, _rx, _first in _CORE:
    Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_name}", re.compile(_rx), list(_first))


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # leading zeros are decimal in YAML 1.2


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_text(text: str, source: str = "<config>") -> Any:
    """Parse YAML 1.2 text; an error names ``source`` and the line."""
    try:
        return yaml.load(text, Loader=Yaml12Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        raise ConfigFileError(
            f"{where}: not valid YAML ({exc.problem or exc.context}); check the indentation "
            "(spaces, no tabs) and quote values containing ': ' or '#'"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{source}: not valid YAML ({exc})") from None


def load_file(path: str | Path) -> dict[str, Any]:
    """Read a config file as YAML 1.2 (JSON is YAML 1.2 too); it must be a mapping."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigFileError(
            f"config file {str(path)!r} not found (expected a YAML file, e.g. "
            "config/config.yaml, given to --configfile)"
        ) from None
    except OSError as exc:
        raise ConfigFileError(f"config file {str(path)!r} cannot be read ({exc})") from None
    data = load_text(text, str(path))
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(
            f"{path}: a config file must be a mapping with sections params, grid and figures; "
            f"got a {type(data).__name__}"
        )
    return data


def _rescan(value: Any) -> Any:
    """``--config`` values as YAML 1.2 scalars (Snakemake reads ``key={a: 4}`` with PyYAML's
    BaseLoader, which leaves every nested scalar a string)."""
    if isinstance(value, Mapping):
        return {k: _rescan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rescan(v) for v in value]
    if isinstance(value, str):
        try:
            parsed = load_text(value)
        except ConfigFileError:
            return value
        return parsed if isinstance(parsed, (bool, int, float)) or parsed is None else value
    return value


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Snakemake's config merge: nested mappings merge, anything else replaces."""
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def reload(
    config: MutableMapping[str, Any], files: Sequence[str | Path], overrides: Mapping[str, Any]
) -> None:
    """Replace ``config`` (Snakemake's, parsed as YAML 1.1) by ``files`` read as YAML 1.2 with
    the ``--config`` ``overrides`` merged on top."""
    fresh: dict[str, Any] = {}
    for path in files:
        merge(fresh, load_file(path))
    merge(fresh, _rescan(dict(overrides)))
    config.clear()
    config.update(fresh)

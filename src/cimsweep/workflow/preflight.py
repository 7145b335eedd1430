"""Check the config files a Snakemake command line names, before Snakemake reads them.

Snakemake loads every ``--configfile`` in its command-line parser, before the workflow's code
runs: a missing file ends in a Python traceback, a YAML syntax error in a message naming no file.
``python -m cimsweep.workflow.preflight ARGS...`` (the Makefile's ``run``, ``dry-run``,
``report`` and ``search`` call it with the Snakemake arguments they pass on) reads each of them
as the workflow will (YAML 1.2, :func:`cimsweep.workflow.yaml12.load_file`) and stops with one
sentence naming the file, exit status 2. Calling ``snakemake`` directly skips this check.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from cimsweep.workflow.yaml12 import ConfigFileError, load_file

OPTIONS = ("--configfile", "--configfiles")


def configfiles(args: Sequence[str]) -> list[str]:
    """The files given to ``--configfile``/``--configfiles`` (``--configfile=F`` too; each
    takes the arguments up to the next option, as Snakemake's parser does)."""
    files: list[str] = []
    taking = False
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in OPTIONS:
            taking = not eq
            if eq:
                files.append(value)
        elif arg.startswith("-"):
            taking = False
        elif taking:
            files.append(arg)
    return files


def check(args: Sequence[str]) -> list[str]:
    """Read every config file of a command line (relative to the working directory, as
    Snakemake does); raise :class:`ConfigFileError` naming the first unusable one."""
    files = configfiles(args)
    for arg in args:
        if arg.partition("=")[0] in OPTIONS and not files:
            raise ConfigFileError(f"{arg} names no file (expected e.g. --configfile my.yaml)")
    for path in files:
        load_file(path)
    return files


def main(argv: Sequence[str]) -> int:
    """Command line: 0 when every config file reads, else 2 with one sentence on stderr."""
    try:
        check(argv)
    except ConfigFileError as exc:
        print(f"cimsweep: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

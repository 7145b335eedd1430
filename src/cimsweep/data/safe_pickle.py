"""Restricted unpickling for the CIFAR "python version" batches.

The official batches are Python-2 pickles of dicts holding numpy arrays, lists and byte
strings. :func:`load` allows exactly the globals needed to rebuild those and refuses every
other global (``os.system``, ``builtins.eval``, ...) with :class:`UnsafePickleError`, so a
tampered file cannot execute code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import IO, Any

# (module, name) pairs a CIFAR batch may reference: numpy array reconstruction (numpy 1 and 2
# module paths, pickle protocols 2-5) and the codec call Python 3 uses to pickle bytes at
# protocols 0-2.
ALLOWED_GLOBALS: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle referenced a global outside :data:`ALLOWED_GLOBALS`."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fh: IO[bytes], source: str) -> None:
        super().__init__(fh, encoding="bytes")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"{self._source}: refusing to unpickle global {module}.{name}; a CIFAR batch "
                "only holds dicts of numpy arrays, lists and bytes (the file is corrupt or "
                "not an official CIFAR batch)"
            )
        return super().find_class(module, name)

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: persistent ids are not allowed")


def loads(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` allowing only numpy array reconstruction."""
    return _RestrictedUnpickler(io.BytesIO(data), source).load()


def load(path: str | Path) -> Any:
    """Unpickle the file at ``path`` allowing only numpy array reconstruction."""
    with open(path, "rb") as fh:
        return _RestrictedUnpickler(fh, str(path)).load()

"""Atomic writes never leave a partial file behind."""

from __future__ import annotations

import numpy as np
import pytest

from cimsweep.io import atomic_path, read_json, read_npz, write_json, write_npz


def test_failed_write_leaves_old_file_and_no_temp(tmp_path) -> None:
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert read_json(target) == {"a": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_json_and_npz_round_trip(tmp_path) -> None:
    write_json(tmp_path / "x.json", {"t": (1, 2), "n": np.float32(0.5)})
    assert read_json(tmp_path / "x.json") == {"t": [1, 2], "n": 0.5}
    write_npz(tmp_path / "x.npz", a=np.arange(3))
    assert np.array_equal(read_npz(tmp_path / "x.npz")["a"], np.arange(3))


def test_malformed_json_names_the_file(tmp_path) -> None:
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        read_json(tmp_path / "bad.json")

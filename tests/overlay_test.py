"""The overlay `fix` reads its planned moves through: files as they will be, nothing written."""
from __future__ import annotations

import pytest

from mig_lint.sources.overlay import OverlayFiles
from tests.conftest import write_tree


def test_a_chain_of_renames_and_new_contents(in_tmp):
    write_tree(in_tmp, {"v/047_y.py": "y\n", "v/048_z.py": "z\n", "v/versions.json": "{}\n", "v/046_a.py": "a\n"})
    overlay = OverlayFiles({"v/versions.json": b'{"x": 1}\n'}, {"v/047_y.py": "v/048_y.py", "v/048_z.py": "v/049_z.py"})

    assert sorted(overlay.listdir("v")) == ["046_a.py", "048_y.py", "049_z.py", "versions.json"]
    _dirs, found = overlay.scan("v")
    assert sorted(found) == [("046_a.py", False), ("048_y.py", False), ("049_z.py", False), ("versions.json", False)]
    assert overlay.read_bytes("v/048_y.py") == b"y\n" and overlay.read_bytes("v/049_z.py") == b"z\n"
    assert overlay.read_bytes("v/versions.json") == b'{"x": 1}\n'
    assert not overlay.isfile("v/047_y.py") and overlay.isfile("v/048_y.py") and overlay.isfile("v/046_a.py")
    with pytest.raises(FileNotFoundError):
        overlay.read_bytes("v/047_y.py")
    assert overlay.status("v/046_a.py") is None and overlay.blob_id("v/046_a.py") is None
    assert overlay.isdir("v") and overlay.realpath("v") == str(in_tmp / "v")
    assert (in_tmp / "v/047_y.py").read_text() == "y\n"  # nothing on disk moved

"""What `pip install .` installs: every module of the package, not only those a test imports, and the extras."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("wheel")
    source_tree = tmp_path / "src"  # a copy: the build leaves build/ and *.egg-info behind
    shutil.copytree(ROOT, source_tree, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "benchmarks", "fixtures", "tests", "__pycache__", "build", "*.egg-info", ".mig-lint-cache"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "--wheel-dir", str(tmp_path), str(source_tree)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (path,) = tmp_path.glob("mig_lint-*.whl")
    return path


def test_the_wheel_holds_every_module(wheel):
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name for name in archive.namelist() if name.startswith("mig_lint/") and name.endswith(".py")}
    source = {str(p.relative_to(ROOT)) for p in (ROOT / "mig_lint").rglob("*.py")}
    assert packaged == source


def test_the_database_driver_extras_are_in_the_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = archive.read(name).decode().splitlines()
    assert {"Provides-Extra: postgresql", "Provides-Extra: mysql"} <= set(metadata)
    assert sorted(line for line in metadata if line.startswith("Requires-Dist:") and "extra ==" in line
            and ('"postgresql"' in line or '"mysql"' in line)) == [
        'Requires-Dist: PyMySQL>=1.1; extra == "mysql"',
        'Requires-Dist: psycopg2-binary>=2.9; extra == "postgresql"',
    ]

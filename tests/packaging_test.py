"""What `pip install .` installs: every module of the package, not only those a test imports."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_holds_every_module(tmp_path):
    source_tree = tmp_path / "src"  # a copy: the build leaves build/ and *.egg-info behind
    shutil.copytree(ROOT, source_tree, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "benchmarks", "fixtures", "tests", "__pycache__", "build", "*.egg-info", ".mig-lint-cache"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "--wheel-dir", str(tmp_path), str(source_tree)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("mig_lint-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name for name in archive.namelist() if name.startswith("mig_lint/") and name.endswith(".py")}
    source = {str(p.relative_to(ROOT)) for p in (ROOT / "mig_lint").rglob("*.py")}
    assert packaged == source

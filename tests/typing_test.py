"""The package type-checks under mypy --strict (configured in setup.cfg)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_passes():
    run = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "setup.cfg"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr

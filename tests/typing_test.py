"""The package type-checks under mypy --strict and passes ruff (configured in setup.cfg, pyproject.toml)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_passes():
    run = subprocess.run([sys.executable, "-m", "mypy", "--config-file", "setup.cfg"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_passes():
    run = subprocess.run([sys.executable, "-m", "ruff", "check", "mig_lint", "tests", "benchmarks"], cwd=ROOT,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr

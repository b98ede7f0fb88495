"""Every command of the `mig-lint` group has its section in the README."""
from __future__ import annotations

from pathlib import Path

from mig_lint.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_every_command_is_documented():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in cli.commands if f"### `mig-lint {name}" not in readme]
    assert missing == []

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write `files` (relative path -> text or bytes) under `root`; text is dedented."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content))
    return root


def alembic_script(revision: str, down: str | None, **extra: str) -> str:
    lines = [f"revision = {revision!r}", f"down_revision = {down!r}"]
    lines += [f"{name} = {value}" for name, value in extra.items()]
    return "\n".join(lines) + "\n\ndef upgrade():\n    pass\n"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """A temp folder that is also the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def _private_syntax_cache(tmp_path_factory, monkeypatch):
    """Keep mig-lint's syntax cache out of the checkout and the fixtures."""
    monkeypatch.setenv("MIG_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("mig-lint-cache")))

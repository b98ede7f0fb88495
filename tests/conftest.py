from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

SHOP = Path(__file__).resolve().parent.parent / "fixtures" / "convert" / "shop"


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


def commit_all(git, message: str) -> None:
    """Commit everything in the work tree (the `git` fixture's runner)."""
    git("add", "-A")
    git("commit", "-q", "-m", message)


def alembic_script(revision: str, down: str | None, **extra: str) -> str:
    lines = [f"revision = {revision!r}", f"down_revision = {down!r}"]
    lines += [f"{name} = {value}" for name, value in extra.items()]
    return "\n".join(lines) + "\n\ndef upgrade():\n    pass\n"


@pytest.fixture
def shop(in_tmp):
    """The shop fixture (migrate) copied to `shop`."""
    shutil.copytree(SHOP, in_tmp / "shop")
    return in_tmp / "shop"


@pytest.fixture
def converted(in_tmp, capsys):
    """The shop fixture (migrate) copied to `shop`, converted by `mig-lint convert` into `alembic`."""
    from mig_lint.cli import main

    shutil.copytree(SHOP, in_tmp / "shop")
    assert main(["convert", "shop", "--out", "alembic"]) == 0
    capsys.readouterr()
    return in_tmp


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """A temp folder that is also the working directory."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def _private_syntax_cache(tmp_path_factory, monkeypatch):
    """Keep mig-lint's syntax cache out of the checkout and the fixtures."""
    monkeypatch.setenv("MIG_LINT_CACHE_DIR", str(tmp_path_factory.mktemp("mig-lint-cache")))


@pytest.fixture(autouse=True)
def _not_on_github_actions(monkeypatch):
    """`check` picks the github format on GitHub Actions; tests choose it themselves."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def git(in_tmp, monkeypatch):
    """Run git in the temp folder, with an identity and no user or system configuration."""
    for name, value in {
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@x",
    }.items():
        monkeypatch.setenv(name, value)

    def run(*args, cwd=None):
        return subprocess.run(["git", *args], cwd=cwd or in_tmp, check=True, capture_output=True, text=True).stdout

    run("init", "-q", "-b", "main")
    return run

"""Run `mig-lint check --format json` in every fixture tree and compare the exact findings."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mig_lint.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.json").is_file()) if FIXTURES.is_dir() else []


def test_there_are_fixtures():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", CASES)
def test_fixture(name, capsys, monkeypatch):
    folder = FIXTURES / name
    expected = json.loads((folder / "expected.json").read_text())
    monkeypatch.chdir(folder)
    before = {p for p in folder.rglob("*")}

    code = main(["check", "--format", "json", *expected.get("args", ["."])])

    out, err = capsys.readouterr()
    assert code == expected["exit"], err or out
    if code == 2:
        assert err.startswith("mig-lint: ")
        return
    report = json.loads(out)
    found = sorted((f["code"], f["path"], f["line"]) for f in report["findings"])
    wanted = sorted((f["code"], f["path"], f["line"]) for f in expected["findings"])
    assert found == wanted
    for tree, facts in zip(report["trees"], expected.get("trees", [])):
        assert {key: tree[key] for key in facts} == facts
    if "trees" in expected:
        assert len(report["trees"]) == len(expected["trees"])
    for name in expected.get("must_not_exist", []):
        assert not os.path.exists(name)
    assert {p for p in folder.rglob("*") if "__pycache__" not in p.parts} <= before


@pytest.mark.parametrize("name", CASES)
def test_fixture_reads_the_same_from_the_cache(name, capsys, monkeypatch):
    """A warm run (every unchanged script recalled from the cache) reports what a cold one does."""
    folder = FIXTURES / name
    expected = json.loads((folder / "expected.json").read_text())
    monkeypatch.chdir(folder)
    runs = []
    for args in (["--no-cache"], [], []):
        code = main(["check", "--format", "json", *args, *expected.get("args", ["."])])
        runs.append((code, *capsys.readouterr()))
    assert runs[0] == runs[1] == runs[2]

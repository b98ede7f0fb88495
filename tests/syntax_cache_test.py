from __future__ import annotations

import marshal
import os
import sys
from dataclasses import replace

import pytest

from mig_lint.cli import main
from mig_lint.sources.syntax import SyntaxCache
from tests.conftest import alembic_script
from tests.conftest import write_tree


def test_a_compiled_script_is_remembered(tmp_path):
    cache = SyntaxCache(str(tmp_path / "c"))
    assert cache.check("x = 1\n") is None
    cache.save()
    assert (tmp_path / "c" / ".gitignore").read_text().endswith("*\n")
    again = SyntaxCache(str(tmp_path / "c"))
    assert again._known == cache._known and len(again._known) == 1


def test_a_syntax_error_is_never_remembered(tmp_path):
    cache = SyntaxCache(str(tmp_path))
    problem = cache.check("def f(:\n")
    assert (problem.kind, problem.line) == ("syntax", 1)
    cache.save()
    assert not os.path.exists(cache.path)


def test_null_bytes_are_a_problem_not_a_crash():
    assert SyntaxCache().check("x = '\x00'\n").kind == "syntax"


def test_unwritable_cache_is_ignored(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = SyntaxCache(str(blocker / "cache"))
    assert cache.check("x = 1\n") is None
    cache.save()


def test_check_writes_the_cache_at_the_repository_root(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MIG_LINT_CACHE_DIR")
    write_tree(tmp_path, {".git/HEAD": "", "db/env.py": "", "db/versions/a.py": alembic_script("a", None)})
    monkeypatch.chdir(tmp_path / "db")
    assert main(["check"]) == 0
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    assert sorted(os.listdir(tmp_path / ".mig-lint-cache")) == [
        ".gitignore", f"scripts-py{version}.marshal", f"syntax-py{version}.bin"]
    assert main(["check", "--no-cache"]) == 0


def test_no_repository_puts_the_cache_in_the_cwd(tmp_path, monkeypatch):
    from mig_lint.check import cache_directory

    monkeypatch.delenv("MIG_LINT_CACHE_DIR")
    assert cache_directory("/") == "/.mig-lint-cache"


def _script_cache_with_one_entry(tmp_path):
    from mig_lint.sources.cache import ScriptCache
    from mig_lint.sources.python import read_script

    script_path = tmp_path / "a.py"
    script_path.write_text(alembic_script("a", None))
    cache = ScriptCache(str(tmp_path / "cache"))
    cache.put(str(script_path), read_script(str(script_path), "a.py"))
    cache.save()
    return cache, script_path


def test_script_cache_round_trip(tmp_path):
    from mig_lint.sources.cache import ScriptCache
    from mig_lint.sources.python import read_script

    cache, script_path = _script_cache_with_one_entry(tmp_path)
    again = ScriptCache(str(tmp_path / "cache"))
    assert again.get(str(script_path), "shown/a.py") == replace(read_script(str(script_path), "a.py"), path="shown/a.py")
    script_path.write_text(alembic_script("a", None) + "# changed\n")
    assert again.get(str(script_path), "a.py") is None


@pytest.mark.parametrize(
    "content",
    (pytest.param(b"not marshal", id="garbage"), pytest.param(marshal.dumps((0, {})), id="old-format"),
     pytest.param(marshal.dumps([1, 2]), id="not-a-tuple")),
)
def test_unusable_script_cache_is_ignored(tmp_path, content):
    from mig_lint.sources.cache import ScriptCache

    cache, script_path = _script_cache_with_one_entry(tmp_path)
    with open(cache.path, "wb") as f:
        f.write(content)
    assert ScriptCache(str(tmp_path / "cache")).get(str(script_path), "a.py") is None


def test_broken_script_record_is_read_again(tmp_path):

    cache, script_path = _script_cache_with_one_entry(tmp_path)
    status, _record = cache._entries[str(script_path)]
    cache._entries[str(script_path)] = (status, ("too", "short"))
    assert cache.get(str(script_path), "a.py") is None


def test_unwritable_script_cache_is_ignored(tmp_path):
    from mig_lint.sources.cache import ScriptCache
    from mig_lint.sources.python import read_script

    blocker = tmp_path / "file"
    blocker.write_text("")
    script_path = tmp_path / "a.py"
    script_path.write_text(alembic_script("a", None))
    cache = ScriptCache(str(blocker / "cache"))
    cache.put(str(script_path), read_script(str(script_path), "a.py"))
    cache.save()
    assert blocker.read_text() == ""

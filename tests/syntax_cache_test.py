from __future__ import annotations

import marshal
import os
import sys

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
    assert again._load() == cache._known and len(cache._known) == 1


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
        ".gitignore", f"scripts-py{version}.marshal", f"scripts-py{version}.scripts.marshal", f"syntax-py{version}.bin"]
    assert main(["check", "--no-cache"]) == 0


def test_no_repository_puts_the_cache_in_the_cwd(tmp_path, monkeypatch):
    from mig_lint.check import cache_directory

    monkeypatch.delenv("MIG_LINT_CACHE_DIR")
    assert cache_directory("/") == "/.mig-lint-cache"


SCRIPTS = {
    "db/env.py": "",
    "db/versions/a.py": '"""Revision ID: a\nRevises:\n"""\n' + alembic_script("a", None),
    "db/versions/b.py": '"""Revision ID: old\nRevises: a\n"""\n' + alembic_script("b", "a"),
    "db/versions/c.py": alembic_script("c", "b") + "x = 1  # mig-lint: ignore[ML999]\n",
    "db/versions/d.py": "import labels\n" + alembic_script("d", "c", branch_labels="(labels.MAIN,)"),
    "db/labels.py": "MAIN = 'main'\n",
}


def _check_json(capsys, *args):
    code = main(["check", "--format", "json", *args, "db"])
    out, err = capsys.readouterr()
    return code, out, err


def _reads(monkeypatch):
    """The names of the scripts the readers read from now on."""
    from mig_lint.sources import alembic
    from mig_lint.sources import migrate
    from mig_lint.sources.python import read_script

    read = []

    def spy(path, *args, **kwargs):
        read.append(os.path.basename(path))
        return read_script(path, *args, **kwargs)

    for reader in (alembic, migrate):
        monkeypatch.setattr(reader, "read_script", spy)
    return read


def test_a_warm_check_reads_only_scripts_that_changed_or_look_elsewhere(in_tmp, monkeypatch, capsys):
    write_tree(in_tmp, SCRIPTS)
    cold = _check_json(capsys)
    reads = _reads(monkeypatch)
    assert _check_json(capsys) == cold
    assert reads == ["d.py"]  # its label is read from labels.py, which may change alone
    assert '"ML204"' in cold[1]

    (in_tmp / "db/versions/b.py").write_text(alembic_script("b", "a"))
    reads.clear()
    code, out, _ = _check_json(capsys)
    assert reads == ["b.py", "d.py"] and '"ML204"' not in out


def test_a_deleted_script_leaves_the_cache(in_tmp, capsys):
    from mig_lint.sources.cache import ScriptCache

    write_tree(in_tmp, SCRIPTS)
    _check_json(capsys)
    os.remove(in_tmp / "db/versions/c.py")
    assert _check_json(capsys)[0] == 1  # d.py now names a missing parent
    cache = ScriptCache(os.environ["MIG_LINT_CACHE_DIR"], lambda script: ())
    _key, records = cache.folder(str(in_tmp / "db/versions"), "alembic")
    assert sorted(records) == ["a.py", "b.py"]


def _cache_files():
    folder = os.environ["MIG_LINT_CACHE_DIR"]
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.startswith("scripts-"))


@pytest.mark.parametrize(
    "content",
    (pytest.param(b"not marshal", id="garbage"), pytest.param(marshal.dumps((0, {})), id="old-format"),
     pytest.param(marshal.dumps([1, 2]), id="not-a-tuple")),
)
def test_unusable_script_cache_is_ignored(in_tmp, capsys, content):
    write_tree(in_tmp, SCRIPTS)
    cold = _check_json(capsys)
    for path in _cache_files():
        with open(path, "wb") as f:
            f.write(content)
    assert _check_json(capsys) == cold


def _rewrite_records(change):
    """Replace every record of the cache by `change(record)`."""
    from mig_lint.sources.cache import _FORMAT

    records_path = _cache_files()[0]
    with open(records_path, "rb") as f:
        _format, folders = marshal.loads(f.read())
    for records in folders.values():
        for name, record in records.items():
            records[name] = change(record)
    with open(records_path, "wb") as f:
        f.write(marshal.dumps((_FORMAT, folders)))


def test_broken_record_is_read_again(in_tmp, monkeypatch, capsys):
    write_tree(in_tmp, SCRIPTS)
    cold = _check_json(capsys)
    _rewrite_records(lambda record: (record[0], "too short"))
    reads = _reads(monkeypatch)
    assert _check_json(capsys) == cold
    assert reads == ["a.py", "b.py", "c.py", "d.py"]


MIGRATE = {
    "repo/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n",
    "repo/versions/001_a.py": "def upgrade(migrate_engine):\n    pass\n",
    "repo/versions/002_b.py": "def downgrade(migrate_engine):\n    pass\n",
}


@pytest.mark.parametrize("damage", ["none", "missing", "stale", "garbled"])
def test_recalled_scripts_are_rebuilt_or_read_again(in_tmp, monkeypatch, capsys, damage):
    """ML311 looks at whole scripts: a warm run rebuilds them from the cache, or reads them."""
    from mig_lint.sources.cache import _FORMAT

    write_tree(in_tmp, MIGRATE)
    cold = main(["check", "--format", "json", "repo"]), capsys.readouterr()
    assert '"ML311"' in cold[1].out
    scripts_path = _cache_files()[1]
    if damage == "missing":
        os.remove(scripts_path)
    elif damage != "none":
        with open(scripts_path, "rb") as f:
            _format, folders = marshal.loads(f.read())
        for kept in folders.values():
            blobs = [blob for _status, blob in kept.values()]
            for name, (status, blob) in kept.items():  # stale: each name holds the other script
                kept[name] = (status, blobs[blobs.index(blob) - 1]) if damage == "stale" else (status, b"garbled")
        with open(scripts_path, "wb") as f:
            f.write(marshal.dumps((_FORMAT, folders)))
    reads = _reads(monkeypatch)
    assert (main(["check", "--format", "json", "repo"]), capsys.readouterr()) == cold
    assert reads == ([] if damage == "none" else ["001_a.py", "002_b.py"])


def test_a_clone_elsewhere_with_the_cache_restored_reads_no_script_again(tmp_path, monkeypatch, capsys):
    """CI: a fresh clone (new mtimes and inodes, another folder) with `.mig-lint-cache` restored."""
    import shutil

    monkeypatch.delenv("MIG_LINT_CACHE_DIR")
    first, second = tmp_path / "first", tmp_path / "second"
    write_tree(first, SCRIPTS)
    monkeypatch.chdir(first)
    cold = _check_json(capsys)
    shutil.copytree(first, second, copy_function=shutil.copy)
    (second / "db/versions/b.py").write_text(alembic_script("b", "a"))  # edited in this clone
    monkeypatch.chdir(second)
    reads = _reads(monkeypatch)
    restored = _check_json(capsys)
    assert reads == ["b.py", "d.py"]  # d.py reads labels.py: never kept
    reads.clear()
    assert _check_json(capsys) == restored
    assert reads == ["d.py"]  # the records now hold this clone's file statuses
    assert '"ML204"' in cold[1] and restored == _check_json(capsys, "--no-cache")


@pytest.mark.parametrize("record", ["same", "no-digest", "short", "fifo"])
def test_a_record_of_a_file_whose_status_changed_stands_only_on_the_same_content(in_tmp, monkeypatch, capsys,
                                                                                  record):
    write_tree(in_tmp, SCRIPTS)
    cold = _check_json(capsys)
    _rewrite_records(lambda kept: {"no-digest": ((0, 0, 0), "", *kept[2:]), "short": ((0, 0, 0),)}.get(
        record, ((0, 0, 0), *kept[1:])))  # same, fifo: only the status moved
    if record == "fifo":  # not read to be hashed: read as a script, it is ML201
        os.remove(in_tmp / "db/versions/c.py")
        os.mkfifo(in_tmp / "db/versions/c.py")
    reads = _reads(monkeypatch)
    code, out, _ = _check_json(capsys)
    assert reads == {"same": ["d.py"], "fifo": ["c.py", "d.py"]}.get(record, ["a.py", "b.py", "c.py", "d.py"])
    if record == "fifo":
        assert '"ML201"' in out and "c.py" in out
    else:
        assert (code, out) == cold[:2]


def test_recalled_scripts_are_a_sequence(in_tmp, capsys):
    from mig_lint.check import load_graphs
    from mig_lint.config import Config

    write_tree(in_tmp, SCRIPTS)
    _check_json(capsys)
    scripts = load_graphs(["db"], Config(root=str(in_tmp)))[0].tree.scripts
    fresh = tuple(load_graphs(["db"], Config(root=str(in_tmp)), use_cache=False)[0].tree.scripts)
    assert type(scripts).__name__ == "ScriptList"
    assert scripts == fresh and scripts != "abcd" and hash(scripts) == hash(fresh)
    assert scripts[1:3] == fresh[1:3] and [s.name for s in scripts] == ["a.py", "b.py", "c.py", "d.py"]


def test_unwritable_script_cache_is_ignored(in_tmp, monkeypatch, capsys):
    blocker = in_tmp / "file"
    blocker.write_text("")
    monkeypatch.setenv("MIG_LINT_CACHE_DIR", str(blocker / "cache"))
    write_tree(in_tmp, SCRIPTS)
    assert _check_json(capsys)[0] == 0
    assert blocker.read_text() == ""


def _tree_with_syntax_errors(root):
    """Forty scripts in a chain, every seventh with a syntax error below its header, and copies."""
    files = {"db/env.py": ""}
    for i in range(40):
        body = alembic_script(f"r{i:02}", f"r{i - 1:02}" if i else None)
        if i % 7 == 3:
            body += ["def broken(:\n", "yield 1\n", "x = 'unclosed\n", "return\n", "await f()\n"][i % 5]
        files[f"db/versions/r{i:02}.py"] = body
    files["db/versions/twin.py"] = files["db/versions/r03.py"].replace("r03", "twin")
    files["db/versions/copy.py"] = files["db/versions/r10.py"]  # the same text twice
    files["db/versions/good.py"] = files["db/versions/r11.py"]
    files["db/versions/binary.py"] = b"revision = 'b'\x00"
    write_tree(root, files)
    os.symlink("loop.py", root / "db/versions/loop.py")


def _parallel(monkeypatch, workers=1):
    from mig_lint.sources import parallel

    monkeypatch.setattr(parallel, "MIN_SCRIPTS", 2)
    monkeypatch.setattr(parallel, "spare_cores", lambda: workers)
    return parallel


@pytest.mark.parametrize("workers", [1, 3])
def test_parallel_compiling_finds_what_the_serial_path_finds(in_tmp, monkeypatch, capsys, workers):
    _tree_with_syntax_errors(in_tmp)
    serial = _check_json(capsys, "--no-cache")
    assert serial[0] == 1 and serial[1].count('"ML201"') == 10
    parallel = _parallel(monkeypatch, workers)
    started = []
    monkeypatch.setattr(parallel, "start", lambda *a, start=parallel.start: started.append(start(*a)) or started[-1])
    assert _check_json(capsys, "--no-cache") == serial
    assert len(started[0].workers) == workers
    assert _check_json(capsys) == serial  # the cache keeps what the workers compiled
    assert _check_json(capsys) == serial


def test_a_syntax_record_restored_elsewhere_skips_the_scripts_it_knows(in_tmp, monkeypatch, capsys):
    """A fresh clone with only the syntax record of an earlier one: statuses differ, digests do not."""
    from mig_lint.sources import syntax

    _tree_with_syntax_errors(in_tmp)
    first = _check_json(capsys)
    for script in (in_tmp / "db/versions").iterdir():
        os.utime(script, ns=(1, 1), follow_symlinks=False)
    for path in _cache_files():  # the script records would spare even the reading
        os.remove(path)
    parallel = _parallel(monkeypatch)
    monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError("no fork")))  # all in-process
    compiled = []

    def spy(text, *args, **kwargs):
        compiled.append(text)
        return compile(text, *args, **kwargs)

    for module in (syntax, parallel):
        monkeypatch.setattr(module, "compile", spy, raising=False)
    assert _check_json(capsys) == first
    # Only the 8 scripts with syntax errors (7 texts): once from the queue, once for the message.
    assert len(compiled) == 16 and len(set(compiled)) == 7


@pytest.mark.parametrize("failure", ["fork", "worker", "no-fork"])
def test_a_failed_worker_leaves_its_share_to_the_main_process(in_tmp, monkeypatch, capsys, failure):
    _tree_with_syntax_errors(in_tmp)
    serial = _check_json(capsys, "--no-cache")
    parallel = _parallel(monkeypatch)
    if failure == "fork":
        monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError("no more processes")))
    elif failure == "worker":
        monkeypatch.setattr(parallel, "_worker", lambda *a: os._exit(3))
    else:
        monkeypatch.delattr(os, "fork")
    assert _check_json(capsys, "--no-cache") == serial


def test_a_failure_while_reading_stops_the_workers(in_tmp, monkeypatch, capsys):
    from mig_lint.sources import alembic

    _tree_with_syntax_errors(in_tmp)
    parallel = _parallel(monkeypatch, 2)
    forked = []
    monkeypatch.setattr(parallel, "_fork", lambda *a, fork=parallel._fork: forked.append(fork(*a)) or forked[-1])
    monkeypatch.setattr(parallel, "_worker", lambda *a: os._exit(0))  # the queue stays full

    class Stop(Exception):
        pass

    def fail(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(alembic, "read_script", fail)
    assert main(["check", "db"]) != 0
    assert "internal error: Stop" in capsys.readouterr().err
    assert len(forked) == 2
    for pid, _pipe in forked:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped already


def test_few_scripts_are_compiled_in_process(in_tmp, monkeypatch, capsys):
    from mig_lint.sources import parallel

    _tree_with_syntax_errors(in_tmp)
    monkeypatch.setattr(os, "fork", lambda: pytest.fail("forked for 45 scripts"))
    assert _check_json(capsys)[0] == 1
    assert parallel.spare_cores() >= 0

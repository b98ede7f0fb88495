"""Two branches each add migrate versions: the repair in every git state, checked by real git and real migrate.

main adds N+1 and N+2 after the fork; the branch adds N+1 (a `.py`, a described SQLite
upgrade script and an undescribed SQLite downgrade script) and N+2, a new test file
that names them and, in some cases, a line in the shared test file. After the repair,
`check --base main` is clean, sqlalchemy-migrate itself upgrades a fresh SQLite database
through every script, and git shows only the branch's own changes against main.
"""
from __future__ import annotations

import json
import re
import shlex
import sqlite3
import subprocess
from dataclasses import dataclass

import pytest

from mig_lint.cli import main
from tests.conftest import commit_all
from tests.conftest import write_tree

CFG = "[db_settings]\nrepository_id = {name}\nversion_table = migrate_version_{name}\n"
SHARED_TEST = "tests/test_migrations.py"
UPGRADE_WITH_MIGRATE = """\
import sys
from migrate.versioning import api
url, repo, start = sys.argv[1:]
api.version_control(url, repo, version=int(start))
api.upgrade(url, repo)
print(api.db_version(url, repo))
"""


@dataclass(frozen=True)
class Repo:
    """One migrate repository of the project: where it is, its first number, its tables' prefix."""

    path: str
    first: int
    name: str

    def version(self, offset: int, rest: str) -> str:
        return f"{self.path}/versions/{self.first + offset:03d}{rest}"

    def check(self, offset: int, prefix: str = "_check_") -> str:
        return f"{prefix}{self.first + offset:03d}"

    @property
    def mine_test(self) -> str:
        return f"tests/test_{self.name}_mine.py"


ONE = (Repo("db/migrate_repo", 1, "m"),)
TWO = (Repo("db/main/migrate_repo", 1, "m"), Repo("db/api/migrate_repo", 10, "a"))


def _script(table: str) -> str:
    return f"def upgrade(migrate_engine):\n    migrate_engine.execute('CREATE TABLE {table} (id INTEGER)')\n"


def _listing(*names: str) -> str:
    listed: dict[str, list[str]] = {}
    for name in names:
        listed.setdefault(name[:3], []).append(name)
    return json.dumps(listed, indent=2) + "\n"


def _base_files(repos, listing):
    files = {"pyproject.toml": '[tool.mig-lint.tests]\npaths = ["tests/*.py"]\n',
             SHARED_TEST: "".join(f"def {r.check(0)}(self): pass\n" for r in repos)}
    for repo in repos:
        files.update({f"{repo.path}/migrate.cfg": CFG.format(name=repo.name), f"{repo.path}/__init__.py": "",
                      f"{repo.path}/versions/__init__.py": "", repo.version(0, "_init.py"): _script(f"t_{repo.name}_init")})
        if listing:
            files[f"{repo.path}/versions/versions.json"] = _listing(f"{repo.first:03d}_init.py")
    return files


def _their_files(repos, listing):
    files = {SHARED_TEST: "".join(f"def {r.check(0)}(self): pass\ndef {r.check(1)}(self): return 'theirs'\n"
                                  for r in repos)}
    for repo in repos:
        files.update({repo.version(1, "_theirs.py"): _script(f"t_{repo.name}_theirs"),
                      repo.version(2, "_more.py"): _script(f"t_{repo.name}_more")})
        if listing:
            names = [f"{repo.first + n:03d}{rest}" for n, rest in ((0, "_init.py"), (1, "_theirs.py"), (2, "_more.py"))]
            files[f"{repo.path}/versions/versions.json"] = _listing(*names)
    return files


MINE = ((1, "_mine.py"), (1, "_mine_sqlite_upgrade.sql"), (1, "_sqlite_downgrade.sql"), (2, "_mine2.py"))


def _my_files(repos, listing, shared_test):
    files = {}
    if shared_test:
        files[SHARED_TEST] = "".join(f"def {r.check(0)}(self): pass\ndef {r.check(1)}(self): return 'mine'\n"
                                     for r in repos)
    for repo in repos:
        files.update({repo.version(1, "_mine.py"): _script(f"t_{repo.name}_mine_py"),
                      repo.version(1, "_mine_sqlite_upgrade.sql"): f"CREATE TABLE t_{repo.name}_mine (id INTEGER);\n",
                      repo.version(1, "_sqlite_downgrade.sql"): f"DROP TABLE t_{repo.name}_mine;\n",
                      repo.version(2, "_mine2.py"): _script(f"t_{repo.name}_mine2"),
                      repo.mine_test: f"def {repo.check(1)}(self):\n    pass\n\n\n"
                                      f"def {repo.check(2, '_pre_upgrade_')}(self):\n    pass\n"})
        if listing:
            names = [f"{repo.first:03d}_init.py", *(f"{repo.first + n:03d}{rest}" for n, rest in MINE)]
            files[f"{repo.path}/versions/versions.json"] = _listing(*names)
    return files


def _forked(git, root, repos, listing, shared_test):
    """main at the fork, the branch `feature` with its versions, main with its own; `feature` checked out."""
    write_tree(root, _base_files(repos, listing))
    commit_all(git, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(root, _my_files(repos, listing, shared_test))
    commit_all(git, "mine")
    git("checkout", "-q", "main")
    write_tree(root, _their_files(repos, listing))
    commit_all(git, "theirs")
    git("checkout", "-q", "feature")


def _stops(git, *args):
    with pytest.raises(subprocess.CalledProcessError):
        git(*args)


def _keep_both_sides(root, path):
    """Resolve a conflicted test file as its author would: both sides' functions, ours first."""
    text = (root / path).read_text()
    resolved = re.sub(r"<<<<<<< [^\n]*\n(.*?)=======\n(.*?)>>>>>>> [^\n]*\n", r"\1\2", text, flags=re.DOTALL)
    (root / path).write_text(resolved)


def _hint_commands(capsys):
    """Every command the ML5xx/ML3xx findings of `check --base main` name, as printed."""
    code = main(["check", "--base", "main", "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    commands = {re.search(r"`(mig-lint [^`]*)`", f["hint"]).group(1) for f in findings
                if f["code"] in ("ML502", "ML301")}
    assert {f["code"] for f in findings} <= {"ML502", "ML301", "ML310", "ML302", "ML403"}
    return commands


def _repair_by_hint(capsys):
    commands = _hint_commands(capsys)
    assert commands == {"mig-lint renumber --base main"}
    argv = shlex.split(commands.pop())
    assert main(argv[1:]) == 1
    return capsys.readouterr().out


def _repair(action, capsys):
    if action == "hint":
        return _repair_by_hint(capsys)
    assert main(shlex.split(action)) == 1
    return capsys.readouterr().out


def _upgrade_with_migrate(root, repo, python):
    done = subprocess.run([python, "-c", UPGRADE_WITH_MIGRATE, f"sqlite:///{root / 'app.db'}", repo.path,
                           str(repo.first - 1)], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def _tables(path):
    with sqlite3.connect(path) as db:
        return sorted(r[0] for r in db.execute("select name from sqlite_master where name like 't_%'"))


def _assert_repaired(git, root, repos, listing, shared_test):
    """The end state of every case: one linear history per repository, run by migrate, and only our changes."""
    assert main(["check", "--base", "main", "--format", "json"]) == 0
    from tests.legacy_env import legacy_python

    python = legacy_python()
    tables = []
    for repo in repos:
        assert _upgrade_with_migrate(root, repo, python) == repo.first + 4
        tables += [f"t_{repo.name}_{t}" for t in ("init", "theirs", "more", "mine", "mine2")]
    # 003 runs its SQLite script in place of its .py (so no t_*_mine_py): the .sql moved with it
    assert _tables(root / "app.db") == sorted(tables)
    (root / "app.db").unlink()
    expected = set()
    for repo in repos:
        expected |= {("A", repo.version(3, rest)) for _n, rest in MINE[:3]} | {("A", repo.version(4, "_mine2.py"))}
        expected.add(("A", repo.mine_test))
        if listing:
            expected.add(("M", f"{repo.path}/versions/versions.json"))
        assert (root / repo.mine_test).read_text() == (
            f"def {repo.check(3)}(self):\n    pass\n\n\ndef {repo.check(4, '_pre_upgrade_')}(self):\n    pass\n")
    if shared_test:
        expected.add(("M", SHARED_TEST))
    changed = {tuple(line.split("\t")) for line in git("diff", "--name-status", "--no-renames", "main").splitlines()}
    assert changed == expected
    shared = (root / SHARED_TEST).read_text()
    for repo in repos:
        assert f"def {repo.check(1)}(self): return 'theirs'\n" in shared
        if shared_test:
            assert f"def {repo.check(3)}(self): return 'mine'\n" in shared


VARIANTS = {
    "conflict-free": (False, False),
    "versions.json": (True, False),
    "test-file": (False, True),
}


def _finish_merge(git, root, capsys, shared_test):
    """Merge main into the repaired branch; fix what git stops on; commit."""
    try:
        git("merge", "-q", "--no-edit", "main")
    except subprocess.CalledProcessError:
        assert main(["fix"]) in (0, 1)
        capsys.readouterr()
        if shared_test:
            _keep_both_sides(root, SHARED_TEST)
        commit_all(git, "merge main")


@pytest.mark.parametrize("action", ["hint", "fix --base main"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("repos", [ONE, TWO], ids=["one-repository", "two-repositories"])
def test_branch_not_merged_yet(git, in_tmp, capsys, repos, variant, action):
    listing, shared_test = VARIANTS[variant]
    _forked(git, in_tmp, repos, listing, shared_test)
    out = _repair(action, capsys)
    for repo in repos:
        # above main's latest (N+2), not above the working tree's (N): never a number main holds
        assert f"{repo.version(1, '_mine.py')} -> {repo.version(3, '_mine.py')}" in out
        assert f"{repo.version(1, '_sqlite_downgrade.sql')} -> {repo.version(3, '_sqlite_downgrade.sql')}" in out
    status = git("status", "--porcelain")
    assert not any(r.version(1, "_theirs.py") in status or r.version(0, "_init.py") in status for r in repos)
    assert main(["check", "--base", "main"]) == 0
    capsys.readouterr()
    commit_all(git, "renumbered")
    _finish_merge(git, in_tmp, capsys, shared_test)
    _assert_repaired(git, in_tmp, repos, listing, shared_test)


def _merge_by_hand(git, root, repos, listing, shared_test):
    """`git merge main`, its conflicts resolved as a user would (both sides kept), committed."""
    try:
        git("merge", "-q", "--no-edit", "main")
    except subprocess.CalledProcessError:
        for repo in repos:
            if listing:
                versions = root / repo.path / "versions"
                (versions / "versions.json").write_text(_listing(*sorted(
                    p.name for p in versions.iterdir() if p.name[:3].isdigit())))
        if shared_test:
            _keep_both_sides(root, SHARED_TEST)
        commit_all(git, "merge main")


@pytest.mark.parametrize("action", ["hint", "fix --base main", "fix", "renumber"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("repos", [ONE, TWO], ids=["one-repository", "two-repositories"])
def test_after_merging_main(git, in_tmp, capsys, repos, variant, action):
    listing, shared_test = VARIANTS[variant]
    _forked(git, in_tmp, repos, listing, shared_test)
    _merge_by_hand(git, in_tmp, repos, listing, shared_test)
    assert main(["check", "--base", "main", "--format", "json"]) == 1
    findings = sorted((f["code"], f["path"]) for f in json.loads(capsys.readouterr().out)["findings"]
                      if f["code"] != "ML403")
    expected = []
    for repo in repos:  # the branch's own files are the new ones; main's unchanged files are not "edited"
        expected += [(code, repo.version(n, rest)) for code in ("ML301", "ML502") for n, rest in ((1, "_mine.py"),
                                                                                                   (2, "_mine2.py"))]
    assert findings == sorted(expected)
    _repair(action, capsys)
    _assert_repaired(git, in_tmp, repos, listing, shared_test)


def _continue(git, stop):
    git("add", "-A")
    if stop == "merge":
        git("commit", "-q", "--no-edit")
    else:
        git("-c", "core.editor=true", "rebase", "--continue")


@pytest.mark.parametrize("action", ["hint", "fix"])
@pytest.mark.parametrize("variant", ["versions.json", "test-file"])
@pytest.mark.parametrize("stop", ["merge", "rebase"])
@pytest.mark.parametrize("repos", [ONE, TWO], ids=["one-repository", "two-repositories"])
def test_inside_a_stopped_merge_or_rebase(git, in_tmp, capsys, repos, stop, variant, action):
    listing, shared_test = VARIANTS[variant]
    _forked(git, in_tmp, repos, listing, shared_test)
    _stops(git, *(["merge", "-q", "--no-edit", "main"] if stop == "merge" else ["rebase", "main"]))
    if action == "hint":
        _repair_by_hint(capsys)
        if listing:
            assert main(["check", "--base", "main"]) == 0
            capsys.readouterr()
    else:
        _repair("fix", capsys)
    if shared_test:
        _keep_both_sides(in_tmp, SHARED_TEST)
    _continue(git, stop)
    _assert_repaired(git, in_tmp, repos, listing, shared_test)


def test_hint_printed_in_a_subfolder_works_there(git, in_tmp, capsys, monkeypatch):
    """Run from db/api: the findings, their hint and the renumbering all see that repository only."""
    api = TWO[1]
    _forked(git, in_tmp, TWO, True, False)
    monkeypatch.chdir(in_tmp / "db" / "api")
    out = _repair_by_hint(capsys)
    assert out.splitlines()[-1] == "renamed migrate_repo/versions/012_mine2.py -> migrate_repo/versions/014_mine2.py"
    assert "tests/test_a_mine.py: _check_011 -> _check_013" in out
    assert main(["check", "--base", "main"]) == 0
    assert (in_tmp / api.mine_test).read_text().startswith("def _check_013(self):")
    assert (in_tmp / TWO[0].version(1, "_mine.py")).exists()  # the other repository is left as it was


def test_rebase_goes_on_after_the_renumberedcommit_all(git, in_tmp, capsys):
    """A later commit of the branch that edits its version lands on the renumbered file."""
    repo = ONE[0]
    _forked(git, in_tmp, ONE, True, False)
    write_tree(in_tmp, {repo.version(2, "_mine2.py"): _script("t_m_mine2") + "# reviewed\n"})
    commit_all(git, "review")
    _stops(git, "rebase", "main")
    assert main(["fix"]) == 1
    capsys.readouterr()
    _continue(git, "rebase")
    assert "fatal" not in git("status")
    assert (in_tmp / repo.version(4, "_mine2.py")).read_text().endswith("# reviewed\n")
    assert not (in_tmp / repo.version(2, "_mine2.py")).exists()
    _assert_repaired(git, in_tmp, ONE, True, False)

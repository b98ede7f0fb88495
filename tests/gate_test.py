"""`check --base REF` on real git repositories built in tmp folders."""
from __future__ import annotations

import json
import os

import pytest

from mig_lint.cli import main
from tests.conftest import alembic_script
from tests.conftest import write_tree

UP = "def upgrade(migrate_engine):\n    pass\n"


def _commit(git, root, files, message):
    write_tree(root, files)
    git("add", "-A")
    git("commit", "-q", "-m", message)


def _gate(capsys, *args):
    code = main(["check", "--format", "json", *args])
    out, err = capsys.readouterr()
    if code == 2:
        return code, err
    return code, sorted((f["code"], f["path"], f["line"]) for f in json.loads(out)["findings"])


ALEMBIC = {"db/env.py": "", "db/versions/a.py": alembic_script("a", None), "db/versions/b.py": alembic_script("b", "a")}


@pytest.fixture
def forked(git, in_tmp):
    """main: a <- b; branch `feature` (checked out) from there."""
    _commit(git, in_tmp, ALEMBIC, "base")
    git("checkout", "-q", "-b", "feature")
    return git


def test_new_revision_on_the_base_head_is_clean(forked, in_tmp, capsys):
    _commit(forked, in_tmp, {"db/versions/c.py": alembic_script("c", "b")}, "c")
    assert _gate(capsys, "--base", "main") == (0, [])


def test_base_moved_on_new_revision_forks(forked, in_tmp, capsys):
    _commit(forked, in_tmp, {"db/versions/c.py": alembic_script("c", "b")}, "c")
    forked("checkout", "-q", "main")
    _commit(forked, in_tmp, {"db/versions/d.py": alembic_script("d", "b")}, "d")
    forked("checkout", "-q", "feature")
    assert _gate(capsys, "--base", "main") == (1, [("ML501", "db/versions/c.py", 2)])
    forked("merge", "-q", "--no-edit", "main")
    assert _gate(capsys, "--base", "main")[1] == [
        ("ML101", "db/versions/c.py", 1), ("ML101", "db/versions/d.py", 1), ("ML103", "db/versions/b.py", 1),
        ("ML501", "db/versions/c.py", 2),
    ]


def test_rebased_change_is_clean(forked, in_tmp, capsys):
    forked("checkout", "-q", "main")
    _commit(forked, in_tmp, {"db/versions/d.py": alembic_script("d", "b")}, "d")
    forked("checkout", "-q", "feature")
    forked("rebase", "-q", "main")
    _commit(forked, in_tmp, {"db/versions/c.py": alembic_script("c", "d")}, "c")
    assert _gate(capsys, "--base", "main") == (0, [])


def test_uncommitted_revision_is_checked(forked, in_tmp, capsys):
    forked("checkout", "-q", "main")
    _commit(forked, in_tmp, {"db/versions/d.py": alembic_script("d", "b")}, "d")
    forked("checkout", "-q", "feature")
    write_tree(in_tmp, {"db/versions/c.py": alembic_script("c", "b")})
    assert _gate(capsys, "--base", "main") == (1, [("ML501", "db/versions/c.py", 2)])


def test_edited_merged_migration(forked, in_tmp, capsys):
    _commit(forked, in_tmp, {"db/versions/b.py": alembic_script("b", "a") + "\n# more\n"}, "edit b")
    assert _gate(capsys, "--base", "main") == (1, [("ML503", "db/versions/b.py", 1)])


def test_removed_merged_migration(forked, in_tmp, capsys):
    forked("rm", "-q", "db/versions/b.py")
    assert _gate(capsys, "--base", "main") == (1, [("ML504", "db/versions/b.py", 1)])


def test_reparented_merged_migration(forked, in_tmp, capsys):
    _commit(forked, in_tmp, {"db/versions/c.py": alembic_script("c", "a"), "db/versions/b.py": alembic_script("b", "c")},
            "insert c below b")
    assert _gate(capsys, "--base", "main") == (1, [("ML501", "db/versions/c.py", 2), ("ML505", "db/versions/b.py", 2)])


MIGRATE = {"repo/migrate.cfg": "[db_settings]\nrepository_id = r\nversion_table = migrate_version\n",
           "repo/versions/045_a.py": UP, "repo/versions/046_b.py": UP}


def test_migrate_number_taken_on_base(git, in_tmp, capsys):
    _commit(git, in_tmp, MIGRATE, "base")
    git("checkout", "-q", "-b", "feature")
    _commit(git, in_tmp, {"repo/versions/047_mine.py": UP}, "mine")
    assert _gate(capsys, "--base", "main") == (0, [])
    git("checkout", "-q", "main")
    _commit(git, in_tmp, {"repo/versions/047_theirs.py": UP}, "theirs")
    git("checkout", "-q", "feature")
    assert _gate(capsys, "--base", "main") == (1, [("ML502", "repo/versions/047_mine.py", 1)])


def test_migrate_number_below_the_base_latest(git, in_tmp, capsys):
    _commit(git, in_tmp, MIGRATE, "base")
    git("checkout", "-q", "-b", "feature")
    git("checkout", "-q", "main")
    _commit(git, in_tmp, {"repo/versions/047_x.py": UP, "repo/versions/048_y.py": UP}, "two")
    git("checkout", "-q", "feature")
    _commit(git, in_tmp, {"repo/versions/048_mine.py": UP, "repo/versions/049_more.py": UP}, "mine")
    code, findings = _gate(capsys, "--base", "main")
    # 047 is missing only until main merges (ML302 is not reported); 048 is main's already
    assert findings == [("ML502", "repo/versions/048_mine.py", 1)]


def test_tree_new_on_this_branch(git, in_tmp, capsys):
    _commit(git, in_tmp, {"README": "x"}, "base")
    git("checkout", "-q", "-b", "feature")
    _commit(git, in_tmp, ALEMBIC, "add migrations")
    assert _gate(capsys, "--base", "main") == (0, [])


def test_unknown_base_names_the_fetch(git, in_tmp, capsys):
    _commit(git, in_tmp, ALEMBIC, "base")
    assert _gate(capsys, "--base", "origin/stable") == (
        2, "mig-lint: base 'origin/stable' is not known in this clone: the clone has no remote to fetch it from\n")


def test_shallow_clone_names_the_unshallow(forked, in_tmp, tmp_path_factory, capsys, monkeypatch):
    _commit(forked, in_tmp, {"db/versions/c.py": alembic_script("c", "b")}, "c")
    forked("checkout", "-q", "main")
    _commit(forked, in_tmp, {"db/versions/d.py": alembic_script("d", "b")}, "d")
    clone = tmp_path_factory.mktemp("clone")
    forked("clone", "-q", "--depth", "1", "--no-single-branch", f"file://{in_tmp}", str(clone))
    forked("checkout", "-q", "feature", cwd=clone)
    monkeypatch.chdir(clone)
    code, err = _gate(capsys, "--base", "origin/main")
    assert code == 2 and "run `git fetch --unshallow origin`" in err


def test_not_a_repository(in_tmp, capsys, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(in_tmp.parent))
    write_tree(in_tmp, ALEMBIC)
    assert _gate(capsys, "--base", "main") == (2, "mig-lint: . is not inside a git repository (--base needs one)\n")


def test_migrate_number_below_the_first_is_new_and_too_low(git, in_tmp, capsys):
    _commit(git, in_tmp, MIGRATE, "base")
    git("checkout", "-q", "-b", "feature")
    _commit(git, in_tmp, {"repo/versions/044_early.py": UP}, "early")
    assert _gate(capsys, "--base", "main") == (1, [("ML502", "repo/versions/044_early.py", 1)])


def test_branch_that_contains_the_base_number_is_not_blamed(git, in_tmp, capsys):
    _commit(git, in_tmp, MIGRATE, "base")
    git("checkout", "-q", "-b", "feature")
    git("checkout", "-q", "main")
    _commit(git, in_tmp, {"repo/versions/047_theirs.py": UP}, "theirs")
    git("checkout", "-q", "feature")
    git("merge", "-q", "--no-edit", "main")
    _commit(git, in_tmp, {"repo/versions/048_mine.py": UP}, "mine")
    assert _gate(capsys, "--base", "main") == (0, [])


def test_new_revision_with_an_unknown_parent_is_only_a_missing_parent(forked, in_tmp, capsys):
    _commit(forked, in_tmp, {"db/versions/c.py": alembic_script("c", "zz")}, "c")
    assert [f[0] for f in _gate(capsys, "--base", "main")[1]] == ["ML101", "ML101", "ML106"]


def test_unrelated_histories(git, in_tmp, capsys):
    _commit(git, in_tmp, ALEMBIC, "base")
    git("checkout", "-q", "--orphan", "other")
    _commit(git, in_tmp, {"db/versions/c.py": alembic_script("c", "b")}, "other")
    assert _gate(capsys, "--base", "main") == (2, "mig-lint: 'main' and HEAD have no common history\n")


def test_locations_and_links_at_the_base(git, in_tmp, capsys):
    files = {"alembic.ini": "[alembic]\nscript_location = db\nversion_locations = db/versions db/extra\n"
                            "recursive_version_locations = true\n", **ALEMBIC,
             "db/versions/2024/c.py": alembic_script("c", "b")}
    _commit(git, in_tmp, files, "base")
    os.symlink("c.py", in_tmp / "db" / "versions" / "2024" / "link.py")
    git("add", "-A")
    git("commit", "-q", "-m", "a link")
    git("checkout", "-q", "-b", "feature")
    os.remove(in_tmp / "db" / "versions" / "2024" / "link.py")
    _commit(git, in_tmp, {"db/extra/d.py": alembic_script("d", "c")}, "extra location")
    assert _gate(capsys, "--base", "main") == (0, [])


def test_cherry_picked_base_version_is_not_blamed(git, in_tmp, capsys):
    _commit(git, in_tmp, MIGRATE, "base")
    git("checkout", "-q", "-b", "feature")
    git("checkout", "-q", "main")
    _commit(git, in_tmp, {"repo/versions/047_theirs.py": UP}, "theirs")
    git("checkout", "-q", "feature")
    _commit(git, in_tmp, {"README": "feature work\n"}, "unrelated work first")
    git("cherry-pick", "main")
    assert _gate(capsys, "--base", "main") == (0, [])


def test_edited_merged_sql_script(git, in_tmp, capsys):
    _commit(git, in_tmp, {**MIGRATE, "repo/versions/046_b_sqlite_upgrade.sql": "SELECT 1;\n"}, "base")
    git("checkout", "-q", "-b", "feature")
    _commit(git, in_tmp, {"repo/versions/046_b_sqlite_upgrade.sql": "SELECT 2;\n"}, "edit the sql")
    assert _gate(capsys, "--base", "main") == (1, [("ML503", "repo/versions/046_b_sqlite_upgrade.sql", 1)])


def test_absolute_tree_path(forked, in_tmp, capsys):
    forked("checkout", "-q", "main")
    _commit(forked, in_tmp, {"db/versions/d.py": alembic_script("d", "b")}, "d")
    forked("checkout", "-q", "feature")
    write_tree(in_tmp, {"db/versions/c.py": alembic_script("c", "b")})
    code, findings = _gate(capsys, "--base", "main", str(in_tmp / "db"))
    assert (code, [f[0] for f in findings]) == (1, ["ML501"])


def test_tree_at_the_repository_root(git, in_tmp, capsys):
    _commit(git, in_tmp, {"env.py": "", "versions/a.py": alembic_script("a", None)}, "base")
    git("checkout", "-q", "-b", "feature")
    write_tree(in_tmp, {"versions/a.py": alembic_script("a", None) + "# edited\n"})
    assert _gate(capsys, "--base", "main", str(in_tmp)) == (1, [("ML503", "versions/a.py", 1)])


TWO_CHANGES = (
    pytest.param(ALEMBIC, {"db/versions/c.py": alembic_script("c", "b")}, {"db/versions/d.py": alembic_script("d", "b")},
                 "ML501", id="alembic"),
    pytest.param(MIGRATE, {"repo/versions/047_c.py": UP}, {"repo/versions/047_d.py": UP}, "ML502", id="migrate"),
)


@pytest.mark.parametrize(("base", "first", "second", "code"), TWO_CHANGES)
@pytest.mark.parametrize("order", ("one-then-two", "two-then-one"))
def test_two_changes_merged_in_either_order(git, in_tmp, capsys, base, first, second, code, order):
    _commit(git, in_tmp, base, "base")
    for branch, files in (("one", first), ("two", second)):
        git("checkout", "-q", "-b", branch, "main")
        _commit(git, in_tmp, files, branch)
    earlier, later = ("one", "two") if order == "one-then-two" else ("two", "one")
    git("checkout", "-q", earlier)
    assert _gate(capsys, "--base", "main") == (0, [])
    git("checkout", "-q", "main")
    git("merge", "-q", "--no-ff", "--no-edit", earlier)
    git("checkout", "-q", later)
    code_, findings = _gate(capsys, "--base", "main")
    later_file = next(iter(second if later == "two" else first))
    assert (code_, findings) == (1, [(code, later_file, 2 if code == "ML501" else 1)])


def test_removed_merged_sql_script(git, in_tmp, capsys):
    _commit(git, in_tmp, {**MIGRATE, "repo/versions/046_b_sqlite_upgrade.sql": "SELECT 1;\n"}, "base")
    git("checkout", "-q", "-b", "feature")
    git("rm", "-q", "repo/versions/046_b_sqlite_upgrade.sql")
    git("commit", "-q", "-m", "drop the sql")
    assert _gate(capsys, "--base", "main") == (1, [("ML504", "repo/versions/046_b_sqlite_upgrade.sql", 1)])


def test_what_main_changed_is_not_blamed_inside_a_merge(git, in_tmp, capsys):
    """Inside a stopped merge the working tree holds main's edits and deletions: they are not this branch's."""
    _commit(git, in_tmp, {**MIGRATE, "repo/versions/046_b_sqlite_upgrade.sql": "SELECT 1;\n", "README": "a\n"},
            "base")
    git("checkout", "-q", "-b", "feature")
    _commit(git, in_tmp, {"README": "mine\n"}, "mine")
    git("checkout", "-q", "main")
    _commit(git, in_tmp, {"repo/versions/045_a.py": UP + "# fixed on main\n", "README": "theirs\n"}, "theirs")
    git("rm", "-q", "repo/versions/046_b_sqlite_upgrade.sql")
    git("commit", "-q", "-m", "theirs drop")
    git("checkout", "-q", "feature")
    with pytest.raises(Exception):  # noqa: B017,PT011 - git stops on README
        git("merge", "-q", "--no-edit", "main")
    assert _gate(capsys, "--base", "main") == (0, [])


def test_edited_file_of_a_repository_the_base_branch_removed(git, in_tmp, capsys):
    _commit(git, in_tmp, MIGRATE, "base")
    git("checkout", "-q", "-b", "feature")
    _commit(git, in_tmp, {"repo/versions/046_b.py": UP + "# edited\n"}, "edit")
    git("checkout", "-q", "main")
    git("rm", "-q", "-r", "repo")
    git("commit", "-q", "-m", "no more migrate")
    git("checkout", "-q", "feature")
    assert _gate(capsys, "--base", "main") == (1, [("ML503", "repo/versions/046_b.py", 1)])


def test_sql_script_added_to_a_merged_version(git, in_tmp, capsys):
    _commit(git, in_tmp, MIGRATE, "base")
    git("checkout", "-q", "-b", "feature")
    _commit(git, in_tmp, {"repo/versions/046_b_sqlite_upgrade.sql": "SELECT 1;\n"}, "add to 046")
    assert _gate(capsys, "--base", "main") == (1, [("ML503", "repo/versions/046_b_sqlite_upgrade.sql", 1)])

"""Splicing the baseline into TOML and INI text: every byte outside the two lists stays."""
from __future__ import annotations

import pytest

from mig_lint.baseline_text import BaselineTextError
from mig_lint.baseline_text import splice_ini
from mig_lint.baseline_text import splice_toml
from mig_lint.config import Baseline

TOOL = ("tool", "mig-lint", "baseline")
BOTH = ("allow-merges", "allow-forks")
M = Baseline(("m1", "m2"), ())
MF = Baseline(("m1", "m2"), ("f",))


@pytest.mark.parametrize(
    ("before", "baseline", "keys", "after"),
    (
        pytest.param("", M, ("allow-merges",), '[tool.mig-lint.baseline]\nallow-merges = ["m1", "m2"]\n', id="empty-file"),
        pytest.param("[x]\na = 1", MF, BOTH,
                     '[x]\na = 1\n\n[tool.mig-lint.baseline]\nallow-merges = ["m1", "m2"]\nallow-forks = ["f"]\n',
                     id="no-final-newline"),
        pytest.param("[tool.mig-lint.baseline]\nallow-merges = ['m1']", M, ("allow-merges",),
                     '[tool.mig-lint.baseline]\nallow-merges = ["m1", "m2"]', id="value-at-the-end-of-the-file"),
        pytest.param("[tool.mig-lint.baseline]", MF, ("allow-forks",),
                     '[tool.mig-lint.baseline]\nallow-forks = ["f"]\n', id="header-at-the-end-of-the-file"),
        pytest.param('[ tool . "mig-lint" . baseline ]  # ok\n\n"allow-merges" = [\n  "m1",\n]  # kept\n[y]\n', MF, BOTH,
                     '[ tool . "mig-lint" . baseline ]  # ok\n\n"allow-merges" = ["m1", "m2"]  # kept\n'
                     'allow-forks = ["f"]\n[y]\n', id="quoted-header-and-key"),
        pytest.param('[tool.mig-lint.baseline]\nallow-forks = []\nallow-merges = ["a\\\\", "b\\"]"]\n', MF, BOTH,
                     '[tool.mig-lint.baseline]\nallow-forks = ["f"]\nallow-merges = ["m1", "m2"]\n', id="escapes"),
        pytest.param("[tool.mig-lint.baseline]\n", Baseline(tuple(f"{n:012x}" for n in range(7)), ()), ("allow-merges",),
                     "[tool.mig-lint.baseline]\nallow-merges = [\n"
                     + "".join(f'    "{n:012x}",\n' for n in range(7)) + "]\n", id="long-list-one-id-a-line"),
    ),
)
def test_splice_toml(before, baseline, keys, after):
    assert splice_toml(before, baseline, keys, TOOL) == after
    if "\n" in before:  # a file of one line has no line ending to follow: it gets "\n"
        assert splice_toml(before.replace("\n", "\r\n"), baseline, keys, TOOL) == after.replace("\n", "\r\n")


def test_standalone_toml_table():
    assert splice_toml("select = ['ML1']\n", M, ("allow-merges",), ("baseline",)) == (
        'select = [\'ML1\']\n\n[baseline]\nallow-merges = ["m1", "m2"]\n')


@pytest.mark.parametrize(
    ("before", "keys", "after"),
    (
        pytest.param("[mig-lint]\npaths = db\n", BOTH,
                     "[mig-lint]\npaths = db\n\n[mig-lint.baseline]\nallow-merges =\n    m1\n    m2\nallow-forks =\n    f\n",
                     id="new-section"),
        pytest.param("[mig-lint.baseline]\n# accepted\nAllow-Merges: m1\n\n    old\n\n[flake8]\nx = 1\n", BOTH,
                     "[mig-lint.baseline]\n# accepted\nAllow-Merges:\n    m1\n    m2\nallow-forks =\n    f\n\n[flake8]\nx = 1\n",
                     id="continuation-after-a-blank-line"),
        pytest.param("[mig-lint.baseline]\nallow-forks = f\nallow-merges = m1\n# about the next section\n\n[x]\n",
                     ("allow-merges",),
                     "[mig-lint.baseline]\nallow-forks = f\nallow-merges =\n    m1\n    m2\n# about the next section\n\n[x]\n",
                     id="comment-after-the-value"),
        pytest.param("[mig-lint.baseline]\nallow-merges = m1\n    # trailing\n", ("allow-merges",),
                     "[mig-lint.baseline]\nallow-merges =\n    m1\n    m2\n    # trailing\n", id="comment-at-the-end"),
        pytest.param("[mig-lint.baseline]\nallow-merges = m1", BOTH,
                     "[mig-lint.baseline]\nallow-merges =\n    m1\n    m2\nallow-forks =\n    f\n", id="no-final-newline"),
    ),
)
def test_splice_ini(before, keys, after):
    assert splice_ini(before, MF, keys) == after
    assert splice_ini(before.replace("\n", "\r\n"), MF, keys) == after.replace("\n", "\r\n")


@pytest.mark.parametrize(
    ("splice", "text"),
    (
        pytest.param(lambda t: splice_toml(t, M, ("allow-merges",), TOOL),
                     "[tool.mig-lint.baseline]\nallow-merges = ['m1', # why\n]\n", id="toml"),
        pytest.param(lambda t: splice_ini(t, M, ("allow-merges",)),
                     "[mig-lint.baseline]\nallow-merges = m1\n; why\n\n  ; and why not\n    old\n", id="ini"),
    ),
)
def test_a_comment_inside_a_rewritten_list_is_refused(splice, text):
    with pytest.raises(BaselineTextError, match=r"^line \d: a comment inside 'baseline.allow-merges' would be lost"):
        splice(text)

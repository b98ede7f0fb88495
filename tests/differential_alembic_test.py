"""mig-lint's graph facts against alembic's own `RevisionMap`, on the same folders.

Every case is written as a script location (env.py + versions/) and read twice:
by `mig-lint check --format json`, which must not import it, and by alembic's
`ScriptDirectory`, which imports each script.  Where alembic loads the tree without
a warning, heads, bases, branch points, merge points, branch labels and the heads of
each label must be equal, and mig-lint must raise none of the graph findings.  Where
alembic raises or warns, mig-lint must report, as an error, the rule for each defect
the case was built with (`_revision_graphs.DEFECT_CODES`).  Where alembic is no
oracle (cycles it misses, ids it takes that DESIGN calls invalid) the expected
finding comes from DESIGN's rule table.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from hypothesis import given
from hypothesis import settings

from mig_lint.cli import main

try:
    from tests import _revision_graphs as graphs
except ImportError:  # tests/ on sys.path (rootdir-relative imports)
    import _revision_graphs as graphs  # type: ignore[no-redef,import-not-found,unused-ignore]

GraphCase = graphs.GraphCase
Header = graphs.Header
Style = graphs.Style
case_of = graphs.case_of

# A check that runs longer than this is a hang (an endless walk of a cycle, say).
CHECK_SECONDS = 10
# Codes that a tree alembic loads without complaint must never get.
GRAPH_CODES = frozenset({"ML105", "ML106", "ML107", "ML108", "ML110", "ML201", "ML206"})
# alembic only checks that every revision lies between a head and a base, so a
# cycle entered from a base and left towards a head loads without a word.
MISSED_BY_ALEMBIC = frozenset({"cycle", "dependency-cycle"})


@dataclasses.dataclass(frozen=True)
class AlembicView:
    """What alembic's RevisionMap says about a folder; `problems` holds warnings and the error."""

    heads: list[str]
    bases: list[str]
    branch_points: list[str]
    merge_points: list[str]
    branch_labels: dict[str, str]  # label -> the revision that declares it
    label_heads: dict[str, list[str]]  # label -> the heads on its branch
    revisions: int
    problems: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.problems


def load_with_alembic(root: Path) -> AlembicView:
    modules, path = set(sys.modules), list(sys.path)
    dont_write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no versions/__pycache__ left for later readers
    try:
        view = _revision_map(root)
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    # alembic execs each script under a module name of its own and registers none
    leaked = sorted(
        name
        for name in set(sys.modules) - modules
        if str(root) in str(getattr(sys.modules[name], "__file__", None) or "")
    )
    assert leaked == [], leaked
    assert sys.path == path
    return view


def _revision_map(root: Path) -> AlembicView:
    heads: list[str] = []
    bases: list[str] = []
    revisions: dict[str, Any] = {}
    labels: dict[str, str] = {}
    label_heads: dict[str, list[str]] = {}
    error: tuple[str, ...] = ()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            revision_map = ScriptDirectory(str(root)).revision_map
            heads, bases = list(revision_map.heads), list(revision_map.bases)
            # the private map is the only listing that does not resolve "head"/"base"
            # as symbols; it also holds labels (-> their revision) and None/() -> None
            for key, revision in revision_map._revision_map.items():
                if revision is None:
                    continue
                revisions[revision.revision] = revision
                if isinstance(key, str) and key != revision.revision:
                    labels[key] = revision.revision
            for label in labels:
                label_heads[label] = sorted(revision_map.filter_for_lineage(heads, label))
        except Exception as exc:  # noqa: BLE001  (any alembic failure is a verdict)
            error = (f"{type(exc).__name__}: {exc}",)
    return AlembicView(
        heads=sorted(heads),
        bases=sorted(bases),
        branch_points=sorted(k for k, r in revisions.items() if r.is_branch_point),
        merge_points=sorted(k for k, r in revisions.items() if r.is_merge_point),
        branch_labels=labels,
        label_heads=label_heads,
        revisions=len(revisions),
        problems=tuple(str(w.message) for w in caught) + error,
    )


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Turn a hang into a failure (with a traceback) that hypothesis can shrink."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield  # pragma: no cover (Windows, or a worker thread: no alarm to be had)
        return

    def _raise(signum: int, frame: object) -> None:
        raise TimeoutError(f"mig-lint check still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    pending = signal.alarm(seconds)  # an alarm someone else set (pytest-timeout, say)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if pending:
            signal.alarm(max(1, pending - seconds))


def check_with_mig_lint(root: Path) -> tuple[int, dict[str, Any]]:
    # text streams with a real .buffer, so that either kind of write is captured
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8")
    err = io.TextIOWrapper(err_bytes, encoding="utf-8")
    # run from the case's own folder: no project config of the cwd applies
    with _cwd(root.parent), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with _time_limit(CHECK_SECONDS):
            rc = main(["check", "--format", "json", str(root)])
    out.flush()
    err.flush()
    text, stderr = out_bytes.getvalue().decode(), err_bytes.getvalue().decode()
    assert rc in (0, 1), f"rc={rc}\nstdout:\n{text}\nstderr:\n{stderr}"
    report: dict[str, Any] = json.loads(text)
    return rc, report


def compare(case: GraphCase, root: Path) -> None:
    case.write(root)
    rc, report = check_with_mig_lint(root)  # before alembic, which may write .pyc files
    view = load_with_alembic(root)
    context = f"alembic: {view}\nmig-lint findings: {report['findings']}\n{case.describe()}"
    assert len(report["trees"]) == 1, context
    tree = report["trees"][0]
    assert tree["format"] == "alembic", context
    if view.clean and not case.defects:
        got = {k: tree[k] for k in ("heads", "bases", "branch_points", "merge_points")}
        want = {k: getattr(view, k) for k in got}
        assert got == want, context
        assert tree["branch_labels"] == view.branch_labels, context
        assert {k: sorted(v) for k, v in tree["label_heads"].items()} == view.label_heads, context
        assert tree["revisions"] == view.revisions, context
        assert {f["code"] for f in report["findings"]} & GRAPH_CODES == set(), context
        return
    if view.clean:
        assert set(case.defects) <= MISSED_BY_ALEMBIC, f"generator bug: alembic accepts it\n{context}"
    else:
        assert case.defects, f"generator bug: alembic rejects a clean case\n{context}"
    errors = {f["code"] for f in report["findings"] if f["severity"] == "error"}
    assert case.expected_codes - errors == set(), context
    assert rc == 1, context


@settings(max_examples=150, deadline=None, derandomize=False)
@given(case=graphs.graph_cases())
def test_random_graphs_agree_with_alembic(case, tmp_path_factory):
    root = tmp_path_factory.mktemp("alembic-graph") / "migrations"
    compare(case, root)
    shutil.rmtree(root.parent)  # kept when the example fails


# -- pinned cases -----------------------------------------------------------------

HEX_A, HEX_B, HEX_C, HEX_D = "1a2b3c4d5e6f", "2b3c4d5e6f70", "3c4d5e6f7081", "4d5e6f708192"
CHAIN = [Header(HEX_A), Header(HEX_B, (HEX_A,)), Header(HEX_C, (HEX_B,))]
DIAMOND = [
    Header(HEX_A),
    Header(HEX_B, (HEX_A,)),
    Header(HEX_C, (HEX_A,)),
    Header(HEX_D, (HEX_B, HEX_C)),
]
FANCY = Style(quote='"', annotated=True, multiline=True, comments=True, docstring=True, seq_form="list")


@pytest.mark.parametrize(
    "case",
    (
        pytest.param(case_of(CHAIN), id="linear-chain"),
        pytest.param(case_of(DIAMOND, FANCY), id="annotated-multiline-list-merge"),
        pytest.param(case_of(DIAMOND, Style(single_form="tuple")), id="one-element-tuple-parent"),
        pytest.param(case_of(CHAIN, Style(single_form="list", multiline=True)), id="one-element-list-parent"),
        pytest.param(case_of(CHAIN, Style(base_form="()")), id="base-as-empty-tuple"),
        pytest.param(case_of(CHAIN, Style(base_form="[]", omit_empty=True)), id="base-as-empty-list"),
        pytest.param(case_of(CHAIN, Style(empty_form="()")), id="labels-and-depends-as-empty-tuple"),
        pytest.param(case_of(CHAIN, Style(decoys=True)), id="commented-overwritten-and-local-assignments"),
        pytest.param(
            case_of([Header("a"), Header("b", ("a", "a"))]),
            id="same-parent-twice-is-a-merge-point",
        ),
        pytest.param(
            case_of([Header("base"), Header("head", ("base",)), Header("heads", ("head",))]),
            id="ids-that-are-alembic-symbols",
        ),
        pytest.param(
            case_of([Header("001"), Header("002", ("001",)), Header("010", ("002",))]),
            id="ids-that-look-like-numbers",
        ),
        pytest.param(
            case_of([
                Header("a", labels=("expand",)),
                Header("b", labels=("contract",), deps=("expand",)),
                Header("c", ("b",), deps=("a",)),
            ]),
            id="bases-joined-by-depends-on-a-label-and-an-id",
        ),
        pytest.param(
            case_of([
                Header("a"),
                Header("b", ("a",), labels=("expand", "data")),
                Header("c", ("a",), labels=("contract",)),
                Header("d", ("c",), deps=("b",)),
            ]),
            id="labelled-branches-with-an-effective-head",
        ),
        pytest.param(
            case_of([Header("a"), Header("b", ("a",), deps=("a",)), Header("c", ("b",), deps=("a",))]),
            id="depends-on-an-ancestor",
        ),
        pytest.param(
            case_of([
                Header("a", labels=("expand",)),
                Header("b", ("a",)),
                Header("c", labels=("contract",)),
                Header("d", ("b", "c")),
                Header("e", ("c",)),
            ]),
            id="label-heads-across-a-merge",
        ),
        *(
            pytest.param(case_of(DIAMOND, Style(literal=literal, single_form="str")), id=f"{literal}-string-literals")
            for literal in ("escaped", "concatenated", "prefixed", "triple", "parenthesized")
        ),
        pytest.param(case_of(CHAIN, Style(semicolons=True)), id="header-on-one-line-with-semicolons"),
        pytest.param(
            case_of([Header(graphs.ODD_IDS[0]), *(Header(i, (p,)) for p, i in zip(graphs.ODD_IDS, graphs.ODD_IDS[1:]))]),
            id="ids-with-dots-spaces-slashes-and-non-ascii",
        ),
        pytest.param(
            dataclasses.replace(case_of(CHAIN), ignored=tuple(graphs.IGNORED_FILES)),
            id="files-alembic-does-not-load",
        ),
        pytest.param(case_of([*CHAIN, Header(HEX_A, (), ())], defects=["duplicate-id"]), id="duplicate-id-as-a-base"),
        pytest.param(case_of([*CHAIN, Header(HEX_B, (HEX_A,))], defects=["duplicate-id"]), id="duplicate-id-same-header"),
        pytest.param(case_of([*CHAIN, Header("d", (HEX_C[:8],))], defects=["missing-parent"]), id="abbreviated-parent"),
        pytest.param(case_of([*CHAIN, Header("d", (HEX_C, "gone"))], defects=["missing-parent"]), id="missing-parent-in-merge"),
        pytest.param(case_of([*CHAIN, Header("d", (HEX_C,), deps=("gone",))], defects=["missing-dependency"]), id="missing-dependency"),
        pytest.param(case_of([Header("a"), Header("b", ("a", "b"))], defects=["self-loop"]), id="self-loop-in-merge"),
        pytest.param(case_of([Header("a", ("a",))], defects=["self-loop"]), id="self-loop-alone"),
        pytest.param(case_of([Header("a"), Header("b", ("a",), deps=("b",))], defects=["dependency-self-loop"]), id="dependency-self-loop"),
        pytest.param(
            case_of([Header("a", deps=("x",)), Header("b", ("a",), labels=("x",))], defects=["dependency-cycle"]),
            id="dependency-cycle-through-a-label",
        ),
        pytest.param(case_of([Header("a", deps=("b",)), Header("b", deps=("a",))], defects=["dependency-cycle"]), id="dependency-cycle-between-bases"),
        pytest.param(case_of([*CHAIN, Header("x", ("y",)), Header("y", ("x",))], defects=["cycle"]), id="two-revision-cycle-beside-a-chain"),
        pytest.param(case_of([Header("x", ("y",)), Header("y", ("x",)), Header("t", ("x",))], defects=["cycle"]), id="cycle-with-a-tail"),
        pytest.param(case_of([Header("a", ("c",)), Header("b", ("a",)), Header("c", ("b",))], defects=["cycle"]), id="three-revision-cycle-alone"),
        pytest.param(case_of([Header("a", ("a",), ("expand",))], defects=["self-loop"]), id="labelled-self-loop"),
        pytest.param(
            case_of([Header("x", ("y",), ("expand",)), Header("y", ("x",))], defects=["cycle"]),
            id="labelled-revision-on-a-cycle",
        ),
        pytest.param(case_of([Header("a", labels=("x", "x"))], defects=["label-reused"]), id="label-twice-in-one-revision"),
        pytest.param(case_of([Header("a", labels=("x",)), Header("b", ("a",), labels=("x",))], defects=["label-reused"]), id="label-in-two-revisions"),
        pytest.param(case_of([Header("a", labels=("a",))], defects=["label-equals-id"]), id="label-equals-own-id"),
        pytest.param(case_of([Header("a"), Header("b", ("a",), labels=("a",))], defects=["label-equals-id"]), id="label-equals-other-id"),
        pytest.param(case_of([Header("a", labels=("x",)), Header("b", ("x",))], defects=["label-as-parent"]), id="label-as-down-revision"),
        pytest.param(case_of([Header("a"), Header("b:c", ("a",))], defects=["illegal-id-char"]), id="colon-in-id"),
        pytest.param(case_of([Header("a@b")], defects=["illegal-id-char"]), id="at-sign-in-id"),
        pytest.param(case_of([Header("a"), Header(42, ("a",))], defects=["non-string-id"]), id="integer-id"),
    ),
)
def test_pinned_graphs_agree_with_alembic(case, tmp_path):
    compare(case, tmp_path / "migrations")


@pytest.mark.parametrize(
    ("case", "alembic_accepts", "codes"),
    (
        # alembic maps "" like any id; DESIGN's ML206 calls an empty id invalid
        pytest.param(
            case_of([Header(""), Header("b", ("",))]), True, {"ML206"}, id="empty-revision-id",
        ),
        # `down_revision = ''` is no base for alembic: it names a revision "" (KeyError)
        pytest.param(
            case_of([Header("a", ("",))]), False, {"ML106", "ML206"}, id="empty-down-revision",
        ),
        # alembic finds a cycle only when it cuts revisions off every head-to-base path
        pytest.param(
            case_of([Header("a"), Header("b", ("a", "c")), Header("c", ("b",)), Header("d", ("b",))]),
            True,
            {"ML105"},
            id="cycle-between-base-and-head",
        ),
        pytest.param(
            case_of([Header("a"), Header("b", ("a",), deps=("c",)), Header("c", ("b",)), Header("d", ("c",))]),
            True,
            {"ML105"},
            id="dependency-cycle-between-base-and-head",
        ),
        # a dependency on the revision's own label: alembic misses the self-loop
        pytest.param(
            case_of([Header("a"), Header("b", ("a",), ("x",), ("x",)), Header("c", ("b",))]),
            True,
            {"ML105"},
            id="depends-on-own-label",
        ),
    ),
)
def test_where_alembic_is_no_oracle(case, alembic_accepts, codes, tmp_path):
    root = case.write(tmp_path / "migrations")
    rc, report = check_with_mig_lint(root)
    assert load_with_alembic(root).clean is alembic_accepts
    errors = {f["code"] for f in report["findings"] if f["severity"] == "error"}
    assert errors & codes, report["findings"]
    assert rc == 1

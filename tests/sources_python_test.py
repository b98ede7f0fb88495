from __future__ import annotations

import pytest

from mig_lint.model import Problem
from mig_lint.sources.files import inline_ignores
from mig_lint.sources.python import parse_script
from mig_lint.sources.python import read_script


def _values(text, path="versions/x.py", roots=()):
    script = parse_script(text, "versions/x.py", path, roots)
    assert script.problem is None, script.problem
    return {a.name: (a.value, a.dynamic) for a in script.assignments}


@pytest.mark.parametrize(
    ("text", "expected"),
    (
        pytest.param("revision = 'a'\ndown_revision = None\n", {"revision": ("a", False), "down_revision": (None, False)}, id="plain"),
        pytest.param('revision = "a"\ndown_revision = "b"\n', {"revision": ("a", False), "down_revision": ("b", False)}, id="double-quotes"),
        pytest.param(
            "revision: str = 'a'\ndown_revision: Union[str, Sequence[str], None] = 'b'\n",
            {"revision": ("a", False), "down_revision": ("b", False)},
            id="annotated",
        ),
        pytest.param(
            "revision = 'm'\ndown_revision = (\n    'a',\n    'b',\n)\n",
            {"revision": ("m", False), "down_revision": (("a", "b"), False)},
            id="tuple-over-lines",
        ),
        pytest.param(
            "revision = 'm'\ndown_revision = ['a', 'b']\n",
            {"revision": ("m", False), "down_revision": (("a", "b"), False)},
            id="list",
        ),
        pytest.param(
            "revision = 'a'  # the id\ndown_revision = 'b'  # parent\n",
            {"revision": ("a", False), "down_revision": ("b", False)},
            id="trailing-comments",
        ),
        pytest.param(
            "revision = 'old'\ndown_revision = None\nrevision = 'new'\n",
            {"revision": ("new", False), "down_revision": (None, False)},
            id="repeated-last-wins",
        ),
        pytest.param(
            "revision = 'a'\ndown_revision = ()\n", {"revision": ("a", False), "down_revision": ((), False)}, id="empty-tuple-base"
        ),
        pytest.param(
            "revision = 'a'\ndown_revision = ('b',)\n", {"revision": ("a", False), "down_revision": (("b",), False)}, id="one-element-tuple"
        ),
        pytest.param(
            "revision = 'a'\ndown_revision = make_parent()\n",
            {"revision": ("a", False), "down_revision": (None, True)},
            id="call-is-dynamic",
        ),
        pytest.param(
            "PARENT = 'b'\nrevision = 'a'\ndown_revision = PARENT\n",
            {"revision": ("a", False), "down_revision": ("b", False)},
            id="module-constant",
        ),
        pytest.param(
            "import os\nrevision = 'a'\ndown_revision = None\nif os.environ.get('X'):\n    revision = 'b'\n",
            {"revision": (None, True), "down_revision": (None, False)},
            id="conditional-is-dynamic",
        ),
        pytest.param(
            "revision = 123\ndown_revision = None\n", {"revision": (123, False), "down_revision": (None, False)}, id="int-id"
        ),
    ),
)
def test_header_values(text, expected):
    values = _values(text)
    last = {}
    for name, value in values.items():
        last[name] = value
    assert {k: v for k, v in last.items() if k in expected} == expected


def test_last_assignment_is_the_one_kept():
    script = parse_script("revision = 'old'\ndown_revision = None\nrevision = 'new'\n", "x.py")
    assert script.assignment("revision").value == "new"
    assert script.assignment("revision").span.line == 3


def test_spans_cover_the_value_only():
    text = "revision: str = 'abc'  # id\ndown_revision = (\n    'a',\n    'b',\n)\n"
    script = parse_script(text, "x.py")
    revision = script.assignment("revision")
    down = script.assignment("down_revision")
    assert text[revision.span.start:revision.span.end] == "'abc'"
    assert (revision.span.line, revision.span.column) == (1, 17)
    assert text[down.span.start:down.span.end] == "(\n    'a',\n    'b',\n)"


def test_docstring_after_imports_is_read():
    text = 'from alembic import op\n"""add x\n\nRevision ID: abc\nRevises: def, ghi\n"""\nrevision = "abc"\ndown_revision = ("def", "ghi")\n'
    script = parse_script(text, "x.py")
    assert script.doc_revision_id.value == "abc"
    assert script.doc_revision_id.span.line == 4
    assert script.doc_revises.value == "def, ghi"


def test_syntax_error_is_a_problem_with_line():
    script = parse_script("revision = 'a'\ndown_revision = (\n", "x.py")
    assert script.problem.kind == "syntax"
    assert script.problem.line >= 2


def test_module_constant_is_read_from_project_module(tmp_path):
    package = tmp_path / "proj" / "db"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli.py").write_text("EXPAND_BRANCH = 'expand'\n")
    script = tmp_path / "proj" / "versions" / "a.py"
    script.parent.mkdir()
    script.write_text("from proj.db import cli\nrevision = 'a'\ndown_revision = None\nbranch_labels = (cli.EXPAND_BRANCH,)\n")
    values = _values(script.read_text(), str(script), roots=(str(tmp_path),))
    assert values["branch_labels"] == (("expand",), False)


def test_imported_name_is_read_from_project_module(tmp_path):
    (tmp_path / "labels.py").write_text("CONTRACT = 'contract'\n")
    script = tmp_path / "a.py"
    script.write_text("from labels import CONTRACT\nrevision = 'a'\ndown_revision = None\nbranch_labels = CONTRACT\n")
    assert _values(script.read_text(), str(script), roots=(str(tmp_path),))["branch_labels"] == ("contract", False)


def test_constant_of_module_outside_project_is_dynamic(tmp_path):
    script = tmp_path / "a.py"
    script.write_text("from nowhere import cli\nrevision = 'a'\ndown_revision = None\nbranch_labels = (cli.X,)\n")
    assert _values(script.read_text(), str(script))["branch_labels"] == (None, True)


@pytest.mark.parametrize(
    ("data", "kind"),
    (
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"  \n\n", "empty", id="blank"),
        pytest.param(b"revision = 'a'\x00\x01", "binary", id="binary"),
        pytest.param(b"revision = '\xff\xfe'\ndown_revision = None\n", "encoding", id="not-utf8"),
        pytest.param(b"# -*- coding: klingon -*-\nrevision = 'a'\n", "encoding", id="unknown-coding"),
    ),
)
def test_unreadable_content_is_a_problem(tmp_path, data, kind):
    path = tmp_path / "x.py"
    path.write_bytes(data)
    script = read_script(str(path), "x.py")
    assert isinstance(script.problem, Problem)
    assert script.problem.kind == kind


def test_declared_latin1_encoding_is_honoured(tmp_path):
    path = tmp_path / "x.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\n# caf\xe9\nrevision = 'a'\ndown_revision = None\n")
    script = read_script(str(path), "x.py")
    assert script.problem is None
    assert script.assignment("revision").value == "a"


def test_bad_byte_position_is_reported(tmp_path):
    path = tmp_path / "x.py"
    path.write_bytes(b"revision = 'a'\ndown_revision = None\nx = '\xff'\n")
    script = read_script(str(path), "x.py")
    assert (script.problem.line, script.problem.column) == (3, 6)


def test_inline_ignores_are_collected():
    script = parse_script("revision = 'a'  # mig-lint: ignore[ML204, ml205]\ndown_revision = None  # mig-lint: ignore\n", "x.py")
    assert script.ignores == ((1, frozenset({"ML204", "ML205"})), (2, frozenset()))


def _resolve(tmp_path, files, script_text):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    script = tmp_path / "pkg" / "versions" / "a.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("revision = 'a'\ndown_revision = None\n" + script_text)
    values = _values(script.read_text(), str(script), roots=(str(tmp_path),))
    return values["branch_labels"]


@pytest.mark.parametrize(
    ("files", "script_text", "expected"),
    (
        pytest.param({"pkg/labels.py": "X = 'x'\n"}, "from .. import labels\nbranch_labels = labels.X\n", ("x", False),
                     id="relative-module"),
        pytest.param({"pkg/labels.py": "X = 'x'\n"}, "from ..labels import X\nbranch_labels = X\n", ("x", False),
                     id="relative-name"),
        pytest.param({"pkg/versions/near.py": "X = ('x', 'y')\n"}, "from . import near\nbranch_labels = near.X\n",
                     (("x", "y"), False), id="sibling-module"),
        pytest.param({"lib/consts/__init__.py": "X = 'x'\n"}, "import lib.consts as c\nbranch_labels = c.X\n", ("x", False),
                     id="import-as-package"),
        pytest.param({"lib/consts.py": "X = 'x'\n"}, "import lib\nbranch_labels = lib.X\n", (None, True),
                     id="attribute-of-package-without-it"),
        pytest.param({"lib/consts.py": "X = 'x'\n"}, "import lib.consts\nbranch_labels = lib.consts.X\n", (None, True),
                     id="dotted-attribute-is-dynamic"),
        pytest.param({"lib/consts.py": "X = make()\n"}, "from lib.consts import X\nbranch_labels = X\n", (None, True),
                     id="constant-that-is-a-call"),
        pytest.param({"lib/consts.py": "def (\n"}, "from lib.consts import X\nbranch_labels = X\n", (None, True),
                     id="module-with-syntax-error"),
        pytest.param({"lib/consts.py": b"\x00"}, "from lib.consts import X\nbranch_labels = X\n", (None, True),
                     id="binary-module"),
        pytest.param({"lib/consts.py": "Y = 1\n"}, "from lib.consts import X\nbranch_labels = X\n", (None, True),
                     id="name-not-in-module"),
        pytest.param({}, "import os\nbranch_labels = os.sep\n", (None, True), id="stdlib-module-not-in-project"),
        pytest.param({}, "import os\nbranch_labels = UNKNOWN\n", (None, True), id="unknown-name"),
        pytest.param({}, "x: int = 1\nbranch_labels = ('a', OTHER)\n", (None, True), id="tuple-with-a-name"),
        pytest.param({}, "import os\nfrom lib import Y\nbranch_labels = Z\n", (None, True), id="name-imported-nowhere"),
        pytest.param({}, "branch_labels = cli.X\n", (None, True), id="attribute-of-unimported-name"),
    ),
)
def test_constant_resolution(tmp_path, files, script_text, expected):
    for name, text in files.items():
        if isinstance(text, bytes):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes(text)
            files = {k: v for k, v in files.items() if k != name}
    assert _resolve(tmp_path, files, script_text) == expected


def test_doc_label_in_the_middle_of_a_line_is_not_the_header():
    text = "# see Revision ID: nope\n'''\nRevision ID: abc\nRevises: \n'''\nrevision = 'abc'\ndown_revision = None\n"
    script = parse_script(text, "x.py")
    assert (script.doc_revision_id.value, script.doc_revision_id.span.line) == ("abc", 3)
    assert script.doc_revises.value == ""


def test_unterminated_list_is_left_to_the_parser():
    text = "revision = 'a'\ndown_revision = [\n" + "    'x',\n" * 300
    script = parse_script(text, "x.py")
    assert script.problem.kind == "syntax"


def test_deeply_nested_header_is_a_problem():
    script = parse_script("revision = 'a'\ndown_revision = " + "-" * 100000 + "1\n", "x.py")
    assert script.problem.kind == "syntax"


def test_annotation_without_value_is_not_an_assignment():
    script = parse_script("revision: str\nrevision = 'a'\ndown_revision: str\ndown_revision = None\n", "x.py")
    assert [a.name for a in script.assignments] == ["revision", "down_revision"]


@pytest.mark.parametrize(
    ("text", "ignores"),
    (
        pytest.param('"""doc"""\n# mig-lint: ignore[ML104]\nfrom alembic import op\nrevision = "a"\n',
                     ((0, frozenset({"ML104"})),), id="header-after-docstring"),
        pytest.param("# mig-lint: ignore\n# mig-lint: ignore[ML1]\nrevision = 'a'\n", ((0, frozenset()),), id="bare-wins-in-header"),
        pytest.param("# mig-lint: ignore[ML1]\nimport os\n# mig-lint: ignore[ML2]\nrevision = 'a'\n",
                     ((0, frozenset({"ML1", "ML2"})),), id="header-comments-add-up"),
        pytest.param("import os  # mig-lint: ignore[ML211]\nrevision = 'a'\n", ((1, frozenset({"ML211"})),), id="inline-in-header"),
        pytest.param("revision = 'a'\n# mig-lint: ignore[ML104]\n", ((2, frozenset({"ML104"})),), id="after-the-header"),
        pytest.param('"""doc"""\n"""second"""\n# mig-lint: ignore\n', ((3, frozenset()),), id="second-string-ends-the-header"),
        pytest.param("if x:\n    # mig-lint: ignore\n    pass\n", ((2, frozenset()),), id="indented"),
        pytest.param("x = '# mig-lint: ignore'\n", (), id="in-a-string"),
        pytest.param('x = """\n# mig-lint: ignore\n"""\n', (), id="in-a-triple-quoted-string"),
        pytest.param('x = """\n# mig-lint: ignore\n', (), id="in-an-unclosed-string"),
        pytest.param("x = (\n  1,  # mig-lint: ignore\n", ((2, frozenset()),), id="before-an-unclosed-bracket"),
        pytest.param("if x:\n        y = 1\n    z = 2  # mig-lint: ignore\n", (), id="past-a-dedent-error"),
        pytest.param("x = 1\r# noqa # mig-lint: ignore[ML2]\r", ((2, frozenset({"ML2"})),), id="cr-only"),
        pytest.param("x = 1\n\x0c\ny = 2  # mig-lint: ignore\n", ((3, frozenset()),), id="form-feed-is-no-line-break"),
        pytest.param("x = 1  # mig-lint\n", (), id="no-ignore"),
    ),
)
def test_inline_ignores_come_from_real_comments(text, ignores):
    assert inline_ignores(text) == ignores

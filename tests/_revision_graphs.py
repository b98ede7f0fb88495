"""Random alembic revision graphs, written as script folders, for differential tests.

`graph_cases()` draws a `GraphCase`: a list of revision headers (chains, branches,
merges, several bases, branch labels, `depends_on` naming ids or labels), each
rendered in one of the header forms seen in real histories, plus at most two
injected defects.  Each defect is one situation that alembic's `RevisionMap`
rejects or warns about, and `DEFECT_CODES` names the mig-lint rule that must
report it.  A case with no defect is one alembic loads without a warning.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

HEX = "0123456789abcdef"
ILLEGAL_CHARS = "@-+:"
# Word ids, including alembic's symbolic names: the revision map takes them as plain ids.
ID_WORDS = ("liberty", "mitaka", "initial", "x", "head", "base", "add_users_table")
# Legal for alembic, odd for a reader: dots, spaces, slashes, non-ASCII.
ODD_IDS = ("1.0", "add users", "v2/initial", "\u00fcber_table", "\u65b0\u5efa")
LABEL_WORDS = ("expand", "contract", "data", "main", "legacy", "feature")
SLUGS = ("create_users", "add_index", "drop_column", "merge_heads", "seed")
ENV_PY = "# env.py for a generated revision graph\n"

DEFECT_CODES = {
    "missing-parent": "ML106",
    "missing-dependency": "ML107",
    "cycle": "ML105",
    "self-loop": "ML105",
    "dependency-self-loop": "ML105",
    "dependency-cycle": "ML105",
    "label-reused": "ML110",
    "label-equals-id": "ML110",
    "label-as-parent": "ML110",
    "illegal-id-char": "ML206",
    "non-string-id": "ML206",
    "duplicate-id": "ML108",
}
DEFECTS = tuple(DEFECT_CODES)


@dataclasses.dataclass(frozen=True)
class Header:
    """What a script declares: `revision`, `down_revision`, `branch_labels`, `depends_on`."""

    revision: str | int
    down: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Style:
    """How a header is spelled; every choice means the same to Python."""

    quote: str = "'"
    annotated: bool = False
    multiline: bool = False  # tuples and lists over several lines
    comments: bool = False  # trailing comments on header lines
    docstring: bool = False  # a (correct) "Revision ID:" / "Revises:" header string
    imports: bool = True
    base_form: str = "None"  # empty down_revision: "None", "()" or "[]"
    single_form: str = "str"  # one id: "str", "tuple" (`('a',)`) or "list"
    seq_form: str = "tuple"  # several ids: "tuple" or "list"
    omit_empty: bool = False  # leave out an empty branch_labels / depends_on
    empty_form: str = "None"  # else spell it "None", "()" or "[]"
    decoys: bool = False  # commented-out, overwritten and function-local assignments
    literal: str = "plain"  # how a string is spelled: see `_string`
    semicolons: bool = False  # `revision = ...; down_revision = ...` on one line


@dataclasses.dataclass(frozen=True)
class ScriptFile:
    filename: str
    header: Header
    style: Style = Style()

    def render(self) -> str:
        return render_script(self.header, self.style)


# A revision that must never count: each file below is one alembic does not load.
_DECOY = "revision = 'ghost_ignored'\ndown_revision = 'ghost_missing'\ndepends_on = 'ghost_missing'\n"
IGNORED_FILES = {
    "init": ("versions/__init__.py", _DECOY),
    "subfolder": ("versions/archive/0001_old_ghost.py", _DECOY),
    "pycache": ("versions/__pycache__/ghost.py", _DECOY),
    "backup": ("versions/ghost.py.orig", _DECOY),
    "lockfile": ("versions/.#ghost.py", _DECOY),
    "text": ("versions/README", "Revision scripts live here.\n"),
    "bytecode": ("versions/ghost.pyc", "not bytecode\n"),
}


@dataclasses.dataclass(frozen=True)
class GraphCase:
    scripts: tuple[ScriptFile, ...]
    defects: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()  # keys of IGNORED_FILES

    @property
    def expected_codes(self) -> frozenset[str]:
        return frozenset(DEFECT_CODES[d] for d in self.defects)

    def write(self, root: Path) -> Path:
        """Write the script location (env.py + versions/) at `root`; returns `root`."""
        versions = root / "versions"
        versions.mkdir(parents=True)
        (root / "env.py").write_text(ENV_PY)
        for script in self.scripts:
            (versions / script.filename).write_text(script.render(), encoding="utf-8")
        for kind in self.ignored:
            path, text = IGNORED_FILES[kind]
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        return root

    def describe(self) -> str:
        """The case as text, for assertion messages."""
        parts = [f"defects={list(self.defects)} ignored={list(self.ignored)}"]
        parts += [f"--- versions/{s.filename}\n{s.render()}" for s in self.scripts]
        return "\n".join(parts)


def case_of(headers: Iterable[Header], style: Style = Style(), defects: Sequence[str] = ()) -> GraphCase:
    """A hand-written case: one file per header, named after its id."""
    scripts = tuple(
        ScriptFile(_filename(h.revision, i), h, style) for i, h in enumerate(headers)
    )
    return GraphCase(scripts, tuple(defects))


# -- rendering ---------------------------------------------------------------

_ANNOTATIONS = {
    "revision": "str",
    "down_revision": "Union[str, Sequence[str], None]",
    "branch_labels": "Union[str, Sequence[str], None]",
    "depends_on": "Union[str, Sequence[str], None]",
}


def render_script(header: Header, style: Style) -> str:
    lines: list[str] = []
    if style.docstring:
        lines += [
            '"""generated revision',
            "",
            f"Revision ID: {header.revision}",
            f"Revises: {', '.join(header.down)}",
            "Create Date: 2024-01-01 00:00:00.000000",
            "",
            '"""',
        ]
    if style.imports:
        lines += ["from alembic import op", "import sqlalchemy as sa"]
    if style.annotated:
        lines += ["from typing import Sequence, Union"]
    lines += ["", "# revision identifiers, used by Alembic."]
    if style.decoys:
        lines += [
            "# down_revision = 'ghost_commented'",
            "down_revision = 'ghost_overwritten'",
            "revision = 'ghost_overwritten_id'",
        ]
    revision = repr(header.revision) if isinstance(header.revision, int) else _string(header.revision, style)
    assignments = [
        _assign("revision", revision, style),
        _assign("down_revision", _value(header.down, style.base_form, style), style),
    ]
    for name, items in (("branch_labels", header.labels), ("depends_on", header.deps)):
        if items or not style.omit_empty:
            assignments.append(_assign(name, _value(items, style.empty_form, style), style))
    if style.semicolons and not style.multiline and not style.comments:
        lines.append("; ".join(assignments))
    else:
        lines += assignments
    lines += ["", "", "def upgrade():"]
    if style.decoys:
        lines.append("    down_revision = 'ghost_local'")
    lines += ["    pass", "", "", "def downgrade():", "    pass", ""]
    return "\n".join(lines)


def _assign(name: str, value: str, style: Style) -> str:
    target = f"{name}: {_ANNOTATIONS[name]}" if style.annotated else name
    comment = f"  # {name} of this script" if style.comments else ""
    return f"{target} = {value}{comment}"


def _value(items: tuple[str, ...], empty: str, style: Style) -> str:
    if not items:
        return empty
    if len(items) == 1 and style.single_form == "str":
        return _string(items[0], style)
    form = style.single_form if len(items) == 1 else style.seq_form
    open_, close = ("(", ")") if form == "tuple" else ("[", "]")
    if style.multiline:
        comment = "  # one id" if style.comments else ""
        body = "    # ids\n" if style.comments else ""
        body += "".join(f"    {_string(item, style)},{comment}\n" for item in items)
        return f"{open_}\n{body}{close}"
    inner = ", ".join(_string(item, style) for item in items)
    if form == "tuple" and len(items) == 1:
        inner += ","
    return f"{open_}{inner}{close}"


def _string(text: str, style: Style) -> str:
    """A str literal for `text` (which holds no quote or backslash), spelled per `style.literal`."""
    q = style.quote
    if not text or style.literal == "plain":
        return f"{q}{text}{q}"
    if style.literal == "escaped":  # first character as an escape sequence
        code = ord(text[0])
        escape = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        return f"{q}{escape}{text[1:]}{q}"
    if style.literal == "concatenated":  # implicit concatenation of two literals
        return f"{q}{text[:1]}{q} {q}{text[1:]}{q}"
    if style.literal == "prefixed":
        return f"u{q}{text}{q}"
    if style.literal == "triple":
        return f"{q * 3}{text}{q * 3}"
    return f"({q}{text}{q})"  # "parenthesized"


def _filename(revision: str | int, index: int) -> str:
    safe = re.sub(r"[^A-Za-z0-9_]", "_", str(revision)).strip("_") or "rev"
    return f"{safe}_{SLUGS[index % len(SLUGS)]}{index}.py"


# -- strategies ----------------------------------------------------------------

revision_ids = st.one_of(
    st.text(HEX, min_size=12, max_size=12),
    st.integers(0, 999).map("{:03d}".format),
    st.sampled_from(ID_WORDS),
    st.text(HEX + "ABCDEF", min_size=12, max_size=12),
    st.sampled_from(ODD_IDS),
)

styles = st.builds(
    Style,
    quote=st.sampled_from(["'", '"']),
    annotated=st.booleans(),
    multiline=st.booleans(),
    comments=st.booleans(),
    docstring=st.booleans(),
    imports=st.booleans(),
    base_form=st.sampled_from(["None", "()", "[]"]),
    single_form=st.sampled_from(["str", "tuple", "list"]),
    seq_form=st.sampled_from(["tuple", "list"]),
    omit_empty=st.booleans(),
    empty_form=st.sampled_from(["None", "()", "[]"]),
    decoys=st.booleans(),
    literal=st.sampled_from(["plain", "plain", "escaped", "concatenated", "prefixed", "triple", "parenthesized"]),
    semicolons=st.booleans(),
)

# Weighted by repetition; hypothesis shrinks towards the first entry.
_PARENT_SHAPES = ("chain",) * 5 + ("branch",) * 2 + ("merge",) * 2 + ("base", "same-parent-twice")


class _Builder:
    """Mutable scratch state of one draw; becomes a frozen `GraphCase` at the end."""

    def __init__(self, draw: st.DrawFn, ids: Sequence[str]) -> None:
        self.draw: Callable[[st.SearchStrategy[Any]], Any] = draw
        self.base_ids = list(ids)
        self.headers: list[Header] = []
        self.touched: set[int] = set()  # indexes changed by a defect
        self.fresh = 0
        self.labels = list(LABEL_WORDS)

    def new_name(self, prefix: str) -> str:
        self.fresh += 1
        return f"{prefix}{self.fresh}"

    def new_label(self) -> str:
        return self.labels.pop(0) if self.labels else self.new_name("label")

    def ids(self) -> list[str]:
        return [h.revision for h in self.headers if isinstance(h.revision, str)]

    def pick(self, indexes: Iterable[int] | None = None) -> int:
        """An index; by default one of the drawn graph, never a revision a defect added."""
        choices = list(range(len(self.base_ids)) if indexes is None else indexes)
        return int(self.draw(st.sampled_from(choices)))

    def add_parent(self, index: int, parent: str) -> None:
        """Replace the parents of an unchanged revision, or add one (keeps earlier defects)."""
        down = self.headers[index].down
        if down and (index in self.touched or self.draw(st.booleans())):
            self.update(index, down=down + (parent,))
        else:
            self.update(index, down=(parent,))

    def update(self, index: int, **changes: Any) -> None:
        self.headers[index] = dataclasses.replace(self.headers[index], **changes)
        self.touched.add(index)

    def add(self, header: Header) -> int:
        self.headers.append(header)
        self.touched.add(len(self.headers) - 1)
        return len(self.headers) - 1

    def descendants(self, index: int) -> set[int]:
        """Indexes below `index` on down_revision edges (the graph is acyclic when asked)."""
        children: dict[str, list[int]] = {}
        for i, h in enumerate(self.headers):
            for parent in h.down:
                children.setdefault(parent, []).append(i)
        found: set[int] = set()
        todo = [index]
        while todo:
            for child in children.get(str(self.headers[todo.pop()].revision), []):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        found.discard(index)
        return found

    def ghost(self) -> str:
        """A name that is no id and no label: fresh, or an abbreviated hex id."""
        ids = set(self.ids())
        prefixes = sorted({i[:8] for i in ids if len(i) == 12 and set(i) <= set(HEX)} - ids)
        if prefixes and self.draw(st.booleans()):
            return str(self.draw(st.sampled_from(prefixes)))
        return self.new_name("ghost")


def _draw_graph(b: _Builder, ids: list[str]) -> None:
    for i, rev in enumerate(ids):
        earlier = ids[:i]
        shape = b.draw(st.sampled_from(_PARENT_SHAPES)) if earlier else "base"
        if shape == "chain":
            down: tuple[str, ...] = (earlier[-1],)
        elif shape == "branch":
            down = (b.draw(st.sampled_from(earlier)),)
        elif shape == "merge" and len(earlier) >= 2:
            down = tuple(b.draw(st.lists(st.sampled_from(earlier), min_size=2, max_size=3, unique=True)))
        elif shape == "same-parent-twice":
            parent = b.draw(st.sampled_from(earlier))
            down = (parent, parent)
        else:
            down = ()
        count = b.draw(st.sampled_from((0, 0, 0, 1, 1, 2)))
        labels = tuple(b.new_label() for _ in range(count))
        targets = earlier + [label for h in b.headers for label in h.labels]
        deps: tuple[str, ...] = ()
        if targets and b.draw(st.sampled_from((False, False, True))):
            deps = tuple(b.draw(st.lists(st.sampled_from(targets), min_size=1, max_size=2, unique=True)))
        b.headers.append(Header(rev, down, labels, deps))


def _missing_parent(b: _Builder) -> None:
    i = b.pick()
    b.add_parent(i, b.ghost())


def _missing_dependency(b: _Builder) -> None:
    i = b.pick()
    b.update(i, deps=b.headers[i].deps + (b.ghost(),))


def _edges_to_descendants(b: _Builder) -> list[tuple[int, int]]:
    return [(i, d) for i in range(len(b.headers)) for d in sorted(b.descendants(i))]


def _cycle(b: _Builder) -> None:
    edges = _edges_to_descendants(b)
    if edges and b.draw(st.booleans()):
        i, d = b.draw(st.sampled_from(edges))
        target = str(b.headers[d].revision)
        b.add_parent(i, target)
        b.touched.update(range(len(b.headers)))
        return
    size = b.draw(st.integers(2, 3))
    names = [b.new_name("cycle") for _ in range(size)]
    for k, name in enumerate(names):
        b.add(Header(name, (names[(k + 1) % size],)))
    if b.draw(st.booleans()):  # a leaf hanging off the cycle
        b.add(Header(b.new_name("tail"), (names[0],)))


def _self_loop(b: _Builder) -> None:
    i = b.pick()
    b.add_parent(i, str(b.headers[i].revision))


def _dependency_self_loop(b: _Builder) -> None:
    i = b.pick()
    b.update(i, deps=b.headers[i].deps + (str(b.headers[i].revision),))


def _dependency_cycle(b: _Builder) -> None:
    edges = _edges_to_descendants(b)
    if edges and b.draw(st.booleans()):
        i, d = b.draw(st.sampled_from(edges))
        target = b.draw(st.sampled_from((str(b.headers[d].revision),) + b.headers[d].labels))
        b.update(i, deps=b.headers[i].deps + (target,))
        b.touched.update(range(len(b.headers)))
        return
    first, second = b.new_name("depcycle"), b.new_name("depcycle")
    b.add(Header(first, (), (), (second,)))
    b.add(Header(second, (), (), (first,)))


def _label_reused(b: _Builder) -> None:
    existing = [label for h in b.headers for label in h.labels]
    if existing and b.draw(st.booleans()):
        label = b.draw(st.sampled_from(existing))
    else:
        label = b.new_label()
        a = b.pick()
        b.update(a, labels=b.headers[a].labels + (label,))
    other = b.pick()  # may be the same revision: `branch_labels = ('x', 'x')`
    b.update(other, labels=b.headers[other].labels + (label,))


def _label_equals_id(b: _Builder) -> None:
    i = b.pick()
    b.update(i, labels=b.headers[i].labels + (b.draw(st.sampled_from(b.base_ids)),))


def _label_as_parent(b: _Builder) -> None:
    r = b.pick()
    if b.headers[r].labels:
        label = b.draw(st.sampled_from(b.headers[r].labels))
    else:
        label = b.new_label()
        b.update(r, labels=(label,))
    others = [i for i in b.base_ids if i != b.headers[r].revision]
    down: tuple[str, ...] = (label,)
    if others and b.draw(st.booleans()):
        down = (b.draw(st.sampled_from(others)), label)
    b.add(Header(b.new_name("leaf"), down))


def _illegal_id_char(b: _Builder) -> None:
    char = b.draw(st.sampled_from(ILLEGAL_CHARS))
    name = b.new_name(f"bad{char}")
    parent = b.draw(st.sampled_from([None] + b.base_ids))
    b.add(Header(name, () if parent is None else (parent,)))
    if b.draw(st.booleans()):
        b.add(Header(b.new_name("child"), (name,)))


def _non_string_id(b: _Builder) -> None:
    parent = b.draw(st.sampled_from([None] + b.base_ids))
    b.add(Header(b.draw(st.integers(0, 999)), () if parent is None else (parent,)))


def _duplicate_id(b: _Builder, *, same_header: bool) -> None:
    # not a revision another defect changed, nor one whose labels the others may name
    # (which copy keeps its labels is beside the point of this defect)
    plain = [i for i in range(len(b.base_ids)) if i not in b.touched and not b.headers[i].labels]
    if not plain:
        plain = [b.add(Header(b.new_name("copied")))]
    i = b.pick(plain)
    original = b.headers[i]
    if same_header or i >= len(b.base_ids):
        down, deps = original.down, original.deps
    else:  # another parent, from below it: no cycle appears whichever copy wins
        down = b.draw(st.sampled_from([()] + [(str(h.revision),) for h in b.headers[:i]]))
        deps = ()
    b.headers.append(Header(original.revision, down, (), deps))


_APPLY = {
    "missing-parent": _missing_parent,
    "missing-dependency": _missing_dependency,
    "cycle": _cycle,
    "self-loop": _self_loop,
    "dependency-self-loop": _dependency_self_loop,
    "dependency-cycle": _dependency_cycle,
    "label-reused": _label_reused,
    "label-equals-id": _label_equals_id,
    "label-as-parent": _label_as_parent,
    "illegal-id-char": _illegal_id_char,
    "non-string-id": _non_string_id,
}


def _unambiguous(defects: list[str]) -> bool:
    """False when a label conflict could decide whether a dependency loops."""
    return not ({"label-reused", "label-equals-id"} & set(defects) and {"dependency-cycle", "dependency-self-loop"} & set(defects))


@st.composite
def graph_cases(draw: st.DrawFn, max_revisions: int = 8) -> GraphCase:
    ids = draw(st.lists(revision_ids, min_size=1, max_size=max_revisions, unique=True))
    b = _Builder(draw, ids)
    _draw_graph(b, ids)
    defects: list[str] = draw(
        st.one_of(
            st.just([]),
            st.lists(st.sampled_from(DEFECTS), min_size=1, max_size=2, unique=True).filter(_unambiguous),
        )
    )
    # the duplicate goes last, on a revision no other defect changed
    for defect in sorted(defects, key=lambda d: d == "duplicate-id"):
        if defect == "duplicate-id":
            cyclic = {"cycle", "dependency-cycle"} & set(defects)
            _duplicate_id(b, same_header=bool(cyclic) or draw(st.booleans()))
        else:
            _APPLY[defect](b)
    scripts = tuple(
        ScriptFile(_filename(h.revision, i), h, draw(styles)) for i, h in enumerate(b.headers)
    )
    ignored = draw(st.lists(st.sampled_from(sorted(IGNORED_FILES)), max_size=3, unique=True))
    return GraphCase(scripts, tuple(defects), tuple(ignored))

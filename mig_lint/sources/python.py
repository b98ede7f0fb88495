"""Read a migration script's header without importing or executing it.

A fast path finds the four alembic assignments by plain text search and reads plain
literals; any shape it is not sure of (a comment after the value, a name, a call, a
backslash, an indented or missing assignment, a line that may sit inside a string) goes
through the full `ast` reader, which also resolves a simple `module.CONST` by reading
the named module when it is inside the project.
"""
from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from collections.abc import Sequence
from typing import Optional

from mig_lint.model import Assignment
from mig_lint.model import DocField
from mig_lint.model import Problem
from mig_lint.model import Script
from mig_lint.model import Span
from mig_lint.sources.code import live_uses
from mig_lint.sources.code import module_imports
from mig_lint.sources.files import blob_id
from mig_lint.sources.files import declared_encoding
from mig_lint.sources.files import decode
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files
from mig_lint.sources.files import first_lines
from mig_lint.sources.files import inline_ignores
from mig_lint.sources.files import read_data
from mig_lint.sources.files import read_text
from mig_lint.sources.syntax import SyntaxCache

HEADER_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")
# Matched at the start of a line found by `str.find`, far faster than a MULTILINE scan.
_ASSIGN_AT = re.compile(
    r"([ \t]*)(revision|down_revision|branch_labels|depends_on)[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*(\S[^\n]*)?"
)
_NEEDLES = ("revision", "branch_labels", "depends_on")
_PLAIN_STRING = re.compile(r"""^(['"])([^'"\\\n]*)\1[ \t]*\r?$""")
# What may precede a header field on its line: space, a string's opening quotes, or `#`
# (projects that write `# Revision ID: x` / `# Revises: y` comment lines instead).
_DOC_OPENING = re.compile(r"""[ \t]*(?:[rRuU]?(?:\"{3}|'{3})|#[ \t]*)?""")
_MAX_VALUE_LINES = 200
_BLANKS = " \t\f\r\n"  # what CPython's tokenizer skips; str.strip() would take more
# Python's line breaks (its tokenizer's, not str.splitlines()'s): CR LF, CR, LF.
_BREAK = re.compile("\r\n|\r|\n")
# CPython's verdict when it was asked (a 1-tuple: the syntax error or None), else None.
Judged = Optional[tuple[Optional[Problem]]]


class _Dynamic(Exception):
    """The expression is not a literal and could not be resolved statically."""


def read_script(
    path: str,
    display: str,
    roots: Sequence[str] = (),
    functions_needed: bool = False,
    syntax: SyntaxCache | None = None,
    files: Files = DISK,
    code_needed: bool = True,
) -> Script:
    """Read one script file into a `Script`; problems are recorded, never raised.

    `code_needed=False` leaves out what only the rules read (imports, connection uses).
    """
    name = os.path.basename(path)
    data = read_data(path, files)
    if isinstance(data, Problem):
        return Script(display, name, problem=data)
    digest = blob_id(data)
    source = _source(data)
    if isinstance(source, Problem):
        return Script(display, name, problem=source, digest=digest)
    text, judged = source
    if not text.strip(_BLANKS):
        return Script(display, name, problem=Problem("empty", "is empty"), digest=digest)
    return parse_script(text, display, path, roots, functions_needed, syntax, judged, code_needed, digest)


def _source(data: bytes) -> tuple[str, Judged] | Problem:
    """A script's text, and CPython's verdict when it had to be asked how to decode it.

    Plain UTF-8 (no declaration but `utf-8`, no BOM conflict) is decoded here and judged
    later through the syntax cache. Anything else (another codec, bytes that are not
    UTF-8, a declaration CPython may read otherwise) is compiled from its bytes once,
    as an import would: what CPython accepts is read, what it refuses is its finding.
    """
    text = decode(data)
    if isinstance(text, str) and _plain_utf8(data):
        return text, None
    if isinstance(text, Problem) and text.kind == "binary":
        return text
    verdict = _compile_bytes(data)
    if isinstance(text, Problem):
        if verdict is not None:
            return text
        text = _decode_leniently(data)
    return text, (verdict,)


def _plain_utf8(data: bytes) -> bool:
    lines = [line for line in first_lines(data) if b"coding" in line]
    if not lines:
        return True
    # After a lone CR CPython may see another line 2 (and another declaration) than LF splitting.
    return declared_encoding(data) == "utf-8" and not any(b"\r" in line.rstrip(b"\r") for line in lines)


def _compile_bytes(data: bytes) -> Problem | None:
    """CPython's own verdict on source bytes (the syntax error, or None when they compile)."""
    import warnings  # imported here: only scripts in another codec come this way

    try:
        with warnings.catch_warnings():  # `"\d"` and the like warn; a lint run prints no warnings of its own
            warnings.simplefilter("ignore")
            compile(data, "<script>", "exec", dont_inherit=True)
    except SyntaxError as e:
        if not e.lineno:  # the bytes could not be decoded at all
            return Problem("encoding", f"cannot be decoded as Python source: {e.msg}")
        return Problem("syntax", e.msg, e.lineno, e.offset or 1)
    except Exception as e:  # whatever a codec raises, the bytes do not compile
        return Problem("syntax", str(e) or type(e).__name__)
    return None


def _decode_leniently(data: bytes) -> str:
    """Bytes CPython compiled although `decode` refused them (bytes not UTF-8 inside a comment)."""
    try:
        text = data.decode(declared_encoding(data), "replace")
    except (LookupError, ValueError):  # pragma: no cover (CPython compiled it with this codec)
        text = data.decode("utf-8", "replace")
    return text[1:] if text.startswith("\ufeff") else text


def parse_script(
    text: str,
    display: str,
    path: str = "",
    roots: Sequence[str] = (),
    functions_needed: bool = False,
    syntax: SyntaxCache | None = None,
    judged: Judged = None,
    code_needed: bool = True,
    digest: str = "",
) -> Script:
    """Parse the text of a script (see module docstring for the two paths); `digest`: its blob id.

    `functions` is filled only when asked for (migrate scripts), which takes the full
    parser; the other scripts (alembic's) have their imports and connection uses read
    (`sources/code.py`) when they compile. The whole script is still checked to compile (through `syntax`, which
    remembers scripts that did), unless `judged` holds CPython's verdict already; a
    header read by the fast path is kept next to a syntax error further down, so the
    history stays whole.
    """
    name = os.path.basename(display)
    assignments = None if functions_needed else _fast_assignments(text)
    functions: frozenset[str] = frozenset()
    looked_elsewhere = False
    if assignments is None:
        parsed = _ast_read(text, path, roots)
        if isinstance(parsed, Problem):
            if judged is None or judged[0] is not None:
                return Script(display, name, problem=judged[0] if judged else parsed, ignores=inline_ignores(text),
                              digest=digest)
            parsed = ((), frozenset(), False)  # pragma: no cover (CPython compiled what ast refuses)
        assignments, functions, looked_elsewhere = parsed
    problem = judged[0] if judged is not None else (syntax or SyntaxCache()).check(text)
    reads_code = code_needed and not functions_needed and problem is None  # alembic scripts (ML211, ML212)
    return Script(
        display,
        name,
        assignments=assignments,
        doc_revision_id=_doc_field(text, "Revision ID:", first_word=True),
        doc_revises=_doc_field(text, "Revises:"),
        functions=functions,
        problem=problem,
        ignores=inline_ignores(text),
        reads_other_files=looked_elsewhere,
        imports=module_imports(text) if reads_code else (),
        live_uses=live_uses(text) if reads_code else (),
        digest=digest,
    )


def _span(text: str, start: int, end: int) -> Span:
    if text.find("\r", 0, start) == -1:
        line = text.count("\n", 0, start) + 1
    else:
        line = sum(1 for _ in _BREAK.finditer(text, 0, start)) + 1
    return Span(line, start - _line_start(text, start) + 1, start, end)


def _line_start(text: str, at: int) -> int:
    """Where the line holding `at` starts (after LF, CR LF or a lone CR)."""
    after_lf = text.rfind("\n", 0, at) + 1
    return max(after_lf, text.rfind("\r", after_lf, at) + 1)


def _line_end(text: str, at: int) -> int:
    """Where the line holding `at` ends (before its line break, or at the end)."""
    lf = text.find("\n", at)
    end = len(text) if lf == -1 else lf
    cr = text.find("\r", at, end)
    return end if cr == -1 else cr


def _doc_field(text: str, label: str, first_word: bool = False) -> DocField | None:
    """The first `label` line of the header string or comment: only space, quotes or `#` may precede it."""
    at = text.find(label)
    while at != -1:
        opening = _DOC_OPENING.match(text, _line_start(text, at))
        if opening is not None and opening.end() == at:
            line_end = _line_end(text, at)
            start = at + len(label)
            rest = text[start:line_end]
            value = rest.strip()
            if not value:  # the span covers the blank rest of the line, so a fix can fill it
                return DocField("", _span(text, start, start + len(rest)))
            start += len(rest) - len(rest.lstrip())
            if first_word:
                value = value.split()[0]
            return DocField(value, _span(text, start, start + len(value)))
        at = text.find(label, at + 1)
    return None


def _header_line_starts(text: str) -> list[int]:
    """Starts of the lines that may assign a header name, in file order."""
    starts = set()
    for needle in _NEEDLES:
        at = text.find(needle)
        while at != -1:
            starts.add(text.rfind("\n", 0, at) + 1)
            at = text.find(needle, at + 8)
    return sorted(starts)


def _fast_assignments(text: str) -> tuple[Assignment, ...] | None:
    """The header by plain text search, or None when only the full parser can be trusted."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None  # a lone CR breaks lines for Python, not for this search
    found = []
    line, counted = 1, 0
    for line_start in _header_line_starts(text):
        match = _ASSIGN_AT.match(text, line_start)
        if match is None:
            continue
        if match.group(1) or match.group(3) is None or _inside_string(text, line_start):
            return None
        start = match.start(3)
        value = _fast_value(text, start)
        if value is None:
            return None
        literal, end = value
        line += text.count("\n", counted, line_start)
        counted = line_start
        span = Span(line, start - line_start + 1, start, end)
        found.append(Assignment(match.group(2), literal, span, text[start:end]))
    names = {a.name for a in found}
    if "revision" not in names or "down_revision" not in names:
        return None
    return tuple(found)


def _inside_string(text: str, position: int) -> bool:
    """True when `position` may be inside a triple-quoted string (then the parser decides)."""
    return text.count('"""', 0, position) % 2 == 1 or text.count("'''", 0, position) % 2 == 1


def _fast_value(text: str, start: int) -> tuple[object, int] | None:
    end = text.find("\n", start)
    end = len(text) if end == -1 else end
    line = text[start:end]
    plain = _PLAIN_STRING.match(line)
    if plain:
        return plain.group(2), start + len(line.rstrip())
    stripped = line.rstrip()
    if stripped == "None":
        return None, start + len(stripped)
    if "#" in line or "\\" in line or stripped[:1] not in ("(", "[", "'", '"'):
        return None
    # Only a bracket may continue on the next lines; anything else is read in one go.
    attempts = _MAX_VALUE_LINES if stripped[0] in "([" else 1
    for _ in range(attempts):
        source = text[start:end].rstrip()
        try:
            return _frozen(ast.literal_eval(source)), start + len(source)
        except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
            pass
        if end >= len(text) or "#" in text[start:end]:
            return None
        next_end = text.find("\n", end + 1)
        end = len(text) if next_end == -1 else next_end
    return None


def _frozen(value: object) -> object:
    """Lists become tuples, as alembic's `to_tuple` makes them."""
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def _ast_read(
    text: str, path: str, roots: Sequence[str]
) -> tuple[tuple[Assignment, ...], frozenset[str], bool] | Problem:
    try:
        module = ast.parse(text)
    except SyntaxError as e:
        return Problem("syntax", e.msg, e.lineno or 1, e.offset or 1)
    except (ValueError, MemoryError, RecursionError) as e:
        return Problem("syntax", str(e) or type(e).__name__)
    resolver = _Resolver(module, path, roots)
    assignments = []
    for node, conditional in _header_statements(module.body, False):
        target, value = node
        span = _node_span(text, value)
        source = text[span.start:span.end]
        if conditional:
            assignments.append(Assignment(target, None, span, source, dynamic=True))
            continue
        try:
            assignments.append(Assignment(target, resolver.evaluate(value), span, source))
        except _Dynamic:
            assignments.append(Assignment(target, None, span, source, dynamic=True))
    functions = frozenset(
        n.name for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    return tuple(assignments), functions, resolver.looked_elsewhere


def _header_statements(
    body: Sequence[ast.stmt], conditional: bool
) -> Iterator[tuple[tuple[str, ast.expr], bool]]:
    for statement in body:
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name) and target.id in HEADER_NAMES:
                    yield (target.id, statement.value), conditional
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            if isinstance(statement.target, ast.Name) and statement.target.id in HEADER_NAMES:
                yield (statement.target.id, statement.value), conditional
        elif isinstance(statement, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for block in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(statement, block, [])
                for item in inner:
                    nested = item.body if isinstance(item, ast.ExceptHandler) else [item]
                    yield from _header_statements(nested, True)


def _node_span(text: str, node: ast.expr) -> Span:
    offsets = _line_offsets(text)
    start = offsets[node.lineno - 1] + _char_column(text, offsets[node.lineno - 1], node.col_offset)
    end_line = node.end_lineno or node.lineno
    end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
    end = offsets[end_line - 1] + _char_column(text, offsets[end_line - 1], end_col)
    return _span(text, start, end)


def _line_offsets(text: str) -> list[int]:
    """Where each line starts, as Python counts lines (ast's `lineno` indexes this)."""
    return [0, *(match.end() for match in _BREAK.finditer(text))]


def _char_column(text: str, line_start: int, byte_column: int) -> int:
    """ast columns count UTF-8 bytes; turn one into a str offset within its line."""
    line = text[line_start:_line_end(text, line_start)]
    return len(line.encode("utf-8", "surrogatepass")[:byte_column].decode("utf-8", "replace"))


class _Resolver:
    """Evaluates header expressions: literals, module constants and `module.CONST`."""

    def __init__(self, module: ast.Module, path: str, roots: Sequence[str]) -> None:
        self._module = module
        self._path = path
        self._roots = roots
        self.looked_elsewhere = False  # the result depends on other files

    def evaluate(self, node: ast.expr) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(self.evaluate(element) for element in node.elts)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module_name = _imported_module(self._module, node.value.id, self._path)
            if module_name is not None:
                self.looked_elsewhere = True
                return _module_constant(module_name, node.attr, self._path, self._roots)
        raise _Dynamic

    def _name(self, name: str) -> object:
        local = _local_constant(self._module, name)
        if local is not _MISSING:
            return local
        origin = _imported_name(self._module, name, self._path)
        if origin is not None:
            self.looked_elsewhere = True
            return _module_constant(origin[0], origin[1], self._path, self._roots)
        raise _Dynamic


_MISSING = object()


def _local_constant(module: ast.Module, name: str) -> object:
    value: object = _MISSING
    for statement in module.body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets)
        ):
            try:
                value = _frozen(ast.literal_eval(statement.value))
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                raise _Dynamic from None
    return value


def _absolute(module: str | None, level: int, path: str) -> str:
    if level == 0:
        return module or ""
    package = os.path.dirname(path)
    for _ in range(level - 1):
        package = os.path.dirname(package)
    # Relative imports are resolved as file paths, written with a leading marker.
    return "/" + os.path.join(package, *(module.split(".") if module else []))


def _imported_module(module: ast.Module, alias: str, path: str) -> str | None:
    for statement in module.body:
        if isinstance(statement, ast.Import):
            for name in statement.names:
                if (name.asname or name.name.split(".")[0]) == alias:
                    return name.name if name.asname else name.name.split(".")[0]
        elif isinstance(statement, ast.ImportFrom):
            for name in statement.names:
                if (name.asname or name.name) == alias:
                    base = _absolute(statement.module, statement.level, path)
                    return f"{base}/{name.name}" if base.startswith("/") else f"{base}.{name.name}".lstrip(".")
    return None


def _imported_name(module: ast.Module, alias: str, path: str) -> tuple[str, str] | None:
    for statement in module.body:
        if isinstance(statement, ast.ImportFrom):
            for name in statement.names:
                if (name.asname or name.name) == alias:
                    return _absolute(statement.module, statement.level, path), name.name
    return None


def _module_file(module_name: str, path: str, roots: Sequence[str]) -> str | None:
    if module_name.startswith("/"):
        candidates = [module_name[1:]]
    else:
        parts = module_name.split(".")
        bases = list(roots)
        directory = os.path.dirname(os.path.abspath(path))
        while True:
            bases.append(directory)
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        candidates = [os.path.join(base, *parts) for base in bases]
    for candidate in candidates:
        for file in (candidate + ".py", os.path.join(candidate, "__init__.py")):
            if os.path.isfile(file):
                return file
    return None


def _module_constant(module_name: str, attribute: str, path: str, roots: Sequence[str]) -> object:
    file = _module_file(module_name, path, roots)
    if file is None:
        raise _Dynamic
    text = read_text(file)
    if isinstance(text, Problem):
        raise _Dynamic
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise _Dynamic from None
    value = _local_constant(module, attribute)
    if value is _MISSING:
        raise _Dynamic
    return value

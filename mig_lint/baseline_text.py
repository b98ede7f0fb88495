"""Splice the baseline's two lists into the text of a TOML or INI configuration file.

Pure text in, text out: each key named in `keys` (those that gain ids) has its value
replaced by the baseline's sorted list, or is added at the end of the table when it is
missing; a missing table is added at the end of the file.
Every other byte stays, line endings included. A comment inside a list that would be
rewritten is an error rather than a loss.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Iterator

from mig_lint.config import Baseline

KEYS = ("allow-merges", "allow-forks")
_WIDTH = 100
_TOML_KEY = re.compile(r"""[ \t]*(["']?)(allow-merges|allow-forks)\1[ \t]*=[ \t]*""")
_INI_KEY = re.compile(r"(allow-merges|allow-forks)[ \t]*[=:]", re.IGNORECASE)
_INI_HEADER = re.compile(r"^\[mig-lint\.baseline\][ \t]*\r?$", re.MULTILINE)


class BaselineTextError(Exception):
    """The file cannot take the baseline without losing something; the message says where."""


Spans = dict[str, tuple[int, int]]
_Entry = Callable[[str, tuple[str, ...], str], str]


def splice_toml(text: str, baseline: Baseline, keys: tuple[str, ...], table: tuple[str, ...]) -> str:
    """`text` with `keys` of the baseline in the table `table` (such as tool, mig-lint, baseline)."""
    header = _toml_header(table).search(text)
    if header is None:
        return _append(text, "[" + ".".join(table) + "]", baseline, keys, _toml_entry)
    spans, last = _toml_keys(text, _next_line(text, header.end()))
    return _splice(text, baseline, keys, spans, last, _toml_entry)


def splice_ini(text: str, baseline: Baseline, keys: tuple[str, ...]) -> str:
    """`text` with `keys` of the baseline in the section `[mig-lint.baseline]` (setup.cfg, flake8 style)."""
    header = _INI_HEADER.search(text)
    if header is None:
        return _append(text, "[mig-lint.baseline]", baseline, keys, _ini_entry)
    spans, last = _ini_keys(text, _next_line(text, header.end()))
    return _splice(text, baseline, keys, spans, last, _ini_entry)


def _splice(text: str, baseline: Baseline, keys: tuple[str, ...], spans: Spans, last: int, entry: _Entry) -> str:
    """Replace the values of `keys` that are there (end first), and add the others at `last`."""
    newline = _newline(text)
    edits: list[tuple[int, int, str]] = []
    missing = []
    for key in keys:
        if key in spans:
            start, end = spans[key]
            edits.append((start, end, entry(key, _ids(baseline, key), newline).split("=", 1)[1].lstrip(" ")))
        else:
            missing.append(entry(key, _ids(baseline, key), newline))
    if missing:
        prefix = newline if last == len(text) and not text.endswith("\n") else ""
        edits.append((last, last, prefix + "".join(line + newline for line in missing)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _ids(baseline: Baseline, key: str) -> tuple[str, ...]:
    return baseline.allow_merges if key == "allow-merges" else baseline.allow_forks


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _next_line(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end == -1 else end + 1


def _lines(text: str, start: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each line from `start`, the end after its newline."""
    while start < len(text):
        end = _next_line(text, start)
        yield start, end
        start = end


def _append(text: str, header: str, baseline: Baseline, keys: tuple[str, ...], entry: _Entry) -> str:
    """A new table or section at the end of the file, after a blank line."""
    newline = _newline(text)
    if text and not text.endswith("\n"):
        text += newline
    separator = newline if text.strip() else ""
    lines = [entry(key, _ids(baseline, key), newline) for key in keys]
    return text + separator + header + newline + "".join(line + newline for line in lines)


# TOML


def _toml_header(table: tuple[str, ...]) -> re.Pattern[str]:
    parts = r"[ \t]*\.[ \t]*".join(f"""(?:{re.escape(p)}|"{re.escape(p)}"|'{re.escape(p)}')""" for p in table)
    return re.compile(rf"^[ \t]*\[[ \t]*{parts}[ \t]*\][ \t]*(?:#[^\r\n]*)?\r?$", re.MULTILINE)


def _toml_keys(text: str, start: int) -> tuple[Spans, int]:
    """Each baseline key's value span in the table that starts at `start`; where a new key goes."""
    spans = {}
    position = last = start
    while position < len(text):
        line_end = _next_line(text, position)
        if text[position:line_end].lstrip(" \t").startswith("["):
            break
        key = _TOML_KEY.match(text, position)
        if key is not None:
            end = _toml_array_end(text, key.end(), key.group(2))
            spans[key.group(2)] = (key.end(), end)
            line_end = last = _next_line(text, end)
        position = line_end
    return spans, last


def _toml_array_end(text: str, start: int, key: str) -> int:
    """The end of the array at `start` (the configuration read it as a flat array of strings)."""
    at = start + 1
    while text[at] != "]":
        if text[at] in "\"'":
            quote, at = text[at], text.index(text[at], at + 1)
            while quote == '"' and _escaped(text, at):
                at = text.index(quote, at + 1)
        elif text[at] == "#":
            line = text.count("\n", 0, at) + 1
            raise BaselineTextError(f"line {line}: a comment inside 'baseline.{key}' would be lost when "
                                    "mig-lint rewrites the list; move it above the key")
        at += 1
    return at + 1


def _escaped(text: str, position: int) -> bool:
    backslashes = len(text[:position]) - len(text[:position].rstrip("\\"))
    return backslashes % 2 == 1


def _toml_entry(key: str, ids: tuple[str, ...], newline: str) -> str:
    one_line = f"{key} = [{', '.join(_toml_string(i) for i in ids)}]"
    if len(one_line) <= _WIDTH:
        return one_line
    return f"{key} = [" + "".join(f"{newline}    {_toml_string(i)}," for i in ids) + f"{newline}]"


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# INI (setup.cfg)


def _ini_keys(text: str, start: int) -> tuple[Spans, int]:
    """Each baseline key's value span (after its `=`) in the section from `start`; where a new key goes."""
    spans: Spans = {}
    last = start
    value: tuple[str, int, int] | None = None  # key, start of its value, end of its last line
    for line_start, line_end in _lines(text, start):
        line = text[line_start:line_end]
        if line.startswith("["):
            break
        stripped = line.strip()
        comment = stripped.startswith(("#", ";"))
        if value is not None and line[:1] in " \t" and stripped and not comment:
            value, last = (value[0], value[1], line_start + len(line.rstrip("\r\n"))), line_end
            continue
        if value is not None and comment:
            _ini_comment_inside(text, value[0], line_start)
        key = _INI_KEY.match(text, line_start)
        if key is not None:
            _close(spans, value)
            value, last = (key.group(1).lower(), key.end(), line_start + len(line.rstrip("\r\n"))), line_end
    _close(spans, value)
    return spans, last


def _ini_comment_inside(text: str, key: str, comment: int) -> None:
    """A comment line followed by more lines of the same value would be lost by the rewrite."""
    for line in text[comment:].split("\n")[1:]:
        if line.strip() and not line.strip().startswith(("#", ";")):
            if line[:1] in " \t":
                number = text.count("\n", 0, comment) + 1
                raise BaselineTextError(f"line {number}: a comment inside 'baseline.{key}' would be lost "
                                        "when mig-lint rewrites the list; move it above the key")
            return


def _close(spans: Spans, value: tuple[str, int, int] | None) -> None:
    if value is not None:
        spans[value[0]] = (value[1], value[2])


def _ini_entry(key: str, ids: tuple[str, ...], newline: str) -> str:
    return f"{key} =" + "".join(f"{newline}    {i}" for i in ids)

"""Head files: one small file per chain naming its head, so that a fork is a git conflict.

Two changes that each add a revision on the same head both rewrite the same line of the
head file, so git stops the second merge with a conflict instead of letting the history
fork silently (neutron's EXPAND_HEAD / CONTRACT_HEAD, django-linear-migrations'
max_migration.txt).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.atomic import write_atomically
from mig_lint.config import Config
from mig_lint.discover import DiscoveryError
from mig_lint.graph import chains
from mig_lint.graph import Graph
from mig_lint.model import SLOTS
from mig_lint.model import TreeSpec
from mig_lint.sources.files import read_text

DEFAULT_HEAD_FILE = "versions/HEAD"
CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>")
HEADER = """\
# mig-lint head file: the newest revision of {chain}.
# Every change that adds a revision rewrites the line below, so two changes that add
# revisions on the same head conflict here when the second one merges. To resolve the
# conflict, run `mig-lint fix` in the stopped merge or rebase: it puts this branch's
# first revision on top of the other's last and rewrites this file.
"""


@dataclass(frozen=True, **SLOTS)
class HeadFile:
    """A head file as it should be and as it is on disk."""

    path: str
    chain: str
    heads: tuple[str, ...]
    actual: str | None
    conflicted: bool = False
    bare: bool = False  # the file on disk holds the id alone (neutron's EXPAND_HEAD), a form kept when rewritten

    @property
    def expected(self) -> str | None:
        return self.heads[0] if len(self.heads) == 1 else None

    @property
    def current(self) -> bool:
        return self.expected is not None and self.actual == self.expected and not self.conflicted


def head_trees(paths: Sequence[str], config: Config) -> tuple[TreeSpec, ...]:
    """The trees under `paths`; a revision script among them picks the project's tree that reads it.

    alembic's post_write_hooks pass the new script. The tree is looked up among the
    trees found from the working directory (or the configured paths), so that the
    project's alembic.ini and mig-lint configuration decide its folders, and only when
    none reads the script among the trees around the script itself.
    """
    from mig_lint.check import discover_trees  # here: the rules import this module, and check imports the rules

    found: dict[tuple[str, str, tuple[str, ...]], TreeSpec] = {}
    folders = [path for path in paths if not _is_script(path)]
    specs = list(discover_trees(folders, config)) if folders or not paths else []
    for script in (path for path in paths if _is_script(path)):
        try:
            project = discover_trees((), config)
        except DiscoveryError:
            project = ()
        specs += [spec for spec in project if _reads(spec, script)] or discover_trees([script], config)
    for spec in specs:
        found.setdefault((os.path.realpath(spec.root), spec.format, spec.version_locations), spec)
    return tuple(found.values())


def _is_script(path: str) -> bool:
    return path.endswith(".py") and os.path.isfile(path)


def _reads(spec: TreeSpec, script: str) -> bool:
    """Whether `script` lies in one of the tree's version locations, or below one."""
    script = os.path.realpath(script)
    return any(script.startswith(os.path.join(os.path.realpath(location), "")) for location in spec.version_locations)


def head_files_in_use(graph: Graph, config: Config) -> bool:
    """Head files are checked when configured, or when the tree already has one."""
    return config.head_file is not None or any(os.path.isfile(f.path) for f in head_files(graph, config))


def head_files(graph: Graph, config: Config) -> list[HeadFile]:
    """The head file of each chain of the tree (one per declared label, else one)."""
    result = []
    for key, (heads, _bases) in sorted(chains(graph, config.chain_labels(graph.labels)).items()):
        label = key[0] if len(key) == 1 else None
        pattern = config.head_file_per_label.format(label=label, LABEL=label.upper()) if label else (
            config.head_file or DEFAULT_HEAD_FILE)
        path = _join(graph.tree.path, pattern)
        actual, conflicted, bare = _read_head(path)
        result.append(HeadFile(path, f"branch {label!r}" if label else "the history", tuple(heads), actual,
                               conflicted, bare))
    return result


def _join(root: str, relative: str) -> str:
    return relative if root in ("", ".") else f"{root}/{relative}"


def _read_head(path: str) -> tuple[str | None, bool, bool]:
    """(the id it names, whether git left conflict markers, whether it holds nothing but ids)."""
    if not os.path.isfile(path):
        return None, False, False
    text = read_text(path)
    if not isinstance(text, str):
        return None, False, False
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    conflicted = any(line.startswith(CONFLICT_MARKERS) for line in lines)
    bare = "#" not in text
    return (lines[0] if lines and not conflicted else None), conflicted, bare


def render_head_file(head: HeadFile) -> str:
    """The text of a current head file."""
    assert head.expected is not None
    return head.expected + "\n" if head.bare else HEADER.format(chain=head.chain) + head.expected + "\n"


def write_head_files(heads: Sequence[HeadFile]) -> list[HeadFile]:
    """Write every stale head file whose chain has one head (atomically); the ones written."""
    written = []
    for head in heads:
        if head.expected is None or head.current:
            continue
        write_atomically(head.path, render_head_file(head).encode("utf-8"), make_folder=True)
        written.append(head)
    return written

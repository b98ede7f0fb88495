"""The revisions a folder of alembic scripts declares and names, for grouping folders into trees."""
from __future__ import annotations

import os
from collections.abc import Sequence

from mig_lint.sources.alembic import ALEMBIC_SCRIPT
from mig_lint.sources.alembic import revision_of
from mig_lint.sources.paths import display_join
from mig_lint.sources.python import read_script
from mig_lint.sources.syntax import SyntaxCache


def folder_links(folders: Sequence[str]) -> tuple[set[str], set[str], list[str]]:
    """(revision ids, ids and labels named by down_revision or depends_on, script paths) of the
    scripts directly in `folders`; nothing is compiled or imported."""
    ids: set[str] = set()
    named: set[str] = set()
    paths: list[str] = []
    unchecked = SyntaxCache(enabled=False)
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if not ALEMBIC_SCRIPT.match(name) or not os.path.isfile(path):
                continue
            revision = revision_of(read_script(path, display_join(folder, name), syntax=unchecked,
                                               code_needed=False))
            if revision is not None:
                ids.add(revision.id)
                named.update(revision.down, revision.depends_on)
                paths.append(display_join(folder, name))
    return ids, named, paths

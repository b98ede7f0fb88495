"""`check --add-baseline`: accept the merges and forks of today's history in the configuration.

The ids go into `[tool.mig-lint.baseline]` (`[mig-lint.baseline]` in setup.cfg) of the
configuration in use, else of the project's pyproject.toml. Only the two lists are
spliced in; every other byte of the file stays as it was, and the file is written
atomically, and only when an id is new.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.atomic import write_atomically
from mig_lint.baseline_text import BaselineTextError
from mig_lint.baseline_text import KEYS
from mig_lint.baseline_text import splice_ini
from mig_lint.baseline_text import splice_toml
from mig_lint.config import Baseline
from mig_lint.config import baseline_table
from mig_lint.config import Config
from mig_lint.config import ConfigError
from mig_lint.config import parse_config
from mig_lint.graph import Graph
from mig_lint.model import SLOTS
from mig_lint.rules.history import closed_by_allowed_merge
from mig_lint.rules.history import splits_into_labels
from mig_lint.sources.paths import repository_root


class AdoptError(Exception):
    """The baseline cannot be written; the message names the file."""


@dataclass(frozen=True, **SLOTS)
class Adoption:
    """What `--add-baseline` did: the file, the whole baseline now, and the ids it added."""

    path: str
    baseline: Baseline
    added_merges: tuple[str, ...]
    added_forks: tuple[str, ...]

    @property
    def written(self) -> bool:
        return bool(self.added_merges or self.added_forks)


def history_baseline(graphs: Sequence[Graph], config: Config) -> Baseline:
    """The merges and forks of the history that ML104 and ML103 report under `config` alone."""
    merges = {m for g in graphs for m in g.merge_points if m not in config.allow_merges}
    allowed = set(config.merges_allowed) | merges
    forks = {
        point
        for g in graphs
        for point in g.branch_points
        if not splits_into_labels(g, point, config.chain_labels(g.labels))
        and not closed_by_allowed_merge(g, point, allowed)
    }
    return Baseline(tuple(sorted(merges)), tuple(sorted(forks)))


def add_baseline(graphs: Sequence[Graph], config: Config, cwd: str) -> Adoption:
    """Write the union of the configured baseline and today's history; nothing when it has them all."""
    path = config.source or os.path.join(repository_root(cwd), "pyproject.toml")
    found = history_baseline(graphs, config)
    old = config.baseline if config.source else Baseline()
    new = Baseline(
        tuple(sorted(set(old.allow_merges) | set(found.allow_merges))),
        tuple(sorted(set(old.allow_forks) | set(found.allow_forks))),
    )
    adoption = Adoption(
        path, new,
        tuple(m for m in new.allow_merges if m not in old.allow_merges),
        tuple(f for f in new.allow_forks if f not in old.allow_forks),
    )
    if adoption.written:
        keys = tuple(k for k, added in zip(KEYS, (adoption.added_merges, adoption.added_forks)) if added)
        _write(path, new, keys)
    return adoption


def _write(path: str, baseline: Baseline, keys: tuple[str, ...]) -> None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        data = b""
    except OSError as e:
        raise AdoptError(f"{path}: cannot be read: {e.strerror or e}") from None
    updated = _spliced(data, path, baseline, keys)
    try:
        write_atomically(path, updated)
    except OSError as e:
        raise AdoptError(f"{path}: cannot be written: {e.strerror or e}") from None


def _spliced(data: bytes, path: str, baseline: Baseline, keys: tuple[str, ...]) -> bytes:
    """The file with the baseline spliced in, proved by reading it back as configuration."""
    try:
        parse_config(data, path)  # a project's pyproject.toml that held no configuration was not read yet
    except ConfigError as e:
        raise AdoptError(str(e)) from None
    text = data.decode("utf-8")
    table = baseline_table(data, path)
    try:
        if path.endswith(".toml"):
            spliced = splice_toml(text, baseline, keys, table)
        else:
            spliced = splice_ini(text, baseline, keys)
    except BaselineTextError as e:
        raise AdoptError(f"{path}: {e}") from None
    updated = spliced.encode("utf-8")
    try:
        written = parse_config(updated, path).baseline
    except ConfigError as e:
        raise AdoptError(f"{path}: the baseline cannot be added as a [{'.'.join(table)}] table ({e}); "
                         "nothing written") from None
    if _as_sets(written) != _as_sets(baseline):  # pragma: no cover (defensive: a splice must read back as meant)
        raise AdoptError(f"{path}: the baseline spliced in reads back differently; nothing written")
    return updated


def _as_sets(baseline: Baseline) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(baseline.allow_merges), frozenset(baseline.allow_forks)

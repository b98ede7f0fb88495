"""The summary of one tree that reports show: heads, bases, numbering, linearity."""
from __future__ import annotations

from dataclasses import dataclass

from mig_lint.config import Config
from mig_lint.graph import chains as graph_chains
from mig_lint.graph import Graph
from mig_lint.model import SLOTS
from mig_lint.rules import history
from mig_lint.rules import migrate


@dataclass(frozen=True, **SLOTS)
class TreeFacts:
    """What DESIGN's JSON report says of a tree (schema 1)."""

    path: str
    format: str
    revisions: int
    heads: tuple[str, ...]
    bases: tuple[str, ...]
    branch_points: tuple[str, ...]
    merge_points: tuple[str, ...]
    branch_labels: tuple[tuple[str, tuple[str, ...]], ...]
    label_heads: tuple[tuple[str, tuple[str, ...]], ...]
    linear: bool
    first_version: int | None
    latest_version: int | None
    gaps: tuple[int, ...]
    collisions: tuple[tuple[str, tuple[str, ...]], ...]
    sql_only_versions: tuple[int, ...]
    repository_id: str | None
    version_table: str


def tree_facts(graph: Graph, config: Config) -> TreeFacts:
    """Summarize one tree's graph under the configuration."""
    tree = graph.tree
    is_migrate = tree.format == "migrate"
    numbers = sorted(int(r) for r in graph.revisions) if is_migrate else []
    gaps = tuple(migrate.gaps(tree)) if is_migrate else ()
    collisions = tuple((str(n), tuple(sorted(names))) for n, names in migrate.collisions(tree).items())
    config_table = tree.migrate_config
    return TreeFacts(
        path=tree.path,
        format=tree.format,
        revisions=len(graph.revisions),
        heads=graph.heads,
        bases=graph.bases,
        branch_points=graph.branch_points,
        merge_points=graph.merge_points,
        branch_labels=tuple(sorted(graph.labels.items())),
        label_heads=tuple(graph.label_heads().items()),
        linear=_linear(graph, config) and not gaps and not collisions,
        first_version=numbers[0] if numbers else None,
        latest_version=numbers[-1] if numbers else None,
        gaps=gaps,
        collisions=collisions,
        sql_only_versions=tuple(migrate.sql_only(tree)) if is_migrate else (),
        repository_id=config_table.repository_id if config_table else None,
        version_table=config_table.version_table if config_table else "alembic_version",
    )


def _linear(graph: Graph, config: Config) -> bool:
    """One head and one base per chain, no unexplained forks or merges, nothing missing."""
    labels = config.chain_labels(graph.labels)
    chains = graph_chains(graph, labels)
    if any(len(heads) > 1 or len(bases) > 1 for heads, bases in chains.values()):
        return False
    if graph.cycles or graph.missing_parents or graph.duplicates:
        return False
    if any(m not in config.merges_allowed for m in graph.merge_points):
        return False
    ctx_merges = set(config.merges_allowed)
    return all(
        p in config.baseline.allow_forks
        or history.splits_into_labels(graph, p, labels)
        or history.closed_by_allowed_merge(graph, p, ctx_merges)
        for p in graph.branch_points
    )

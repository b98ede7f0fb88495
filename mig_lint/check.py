"""`mig-lint check`: discover trees, read them, build graphs, run the rules."""
from __future__ import annotations

import gc
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from mig_lint.config import Config
from mig_lint.discover import discover
from mig_lint.discover import DiscoveryError
from mig_lint.graph import build_graph
from mig_lint.graph import Graph
from mig_lint.model import Finding
from mig_lint.model import SLOTS
from mig_lint.model import Tree
from mig_lint.model import TreeSpec
from mig_lint.rules import is_ignored_for_file
from mig_lint.rules import run_rules
from mig_lint.rules import script_hits
from mig_lint.rules import selected_rules
from mig_lint.rules.base import RuleContext
from mig_lint.sources import read_tree
from mig_lint.sources.cache import ScriptCache
from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files
from mig_lint.sources.paths import display_path
from mig_lint.sources.paths import repository_root
from mig_lint.sources.syntax import SyntaxCache


@dataclass(frozen=True, **SLOTS)
class CheckResult:
    """The graphs of every tree found and every finding that survived suppression."""

    graphs: tuple[Graph, ...]
    findings: tuple[Finding, ...]
    config: Config

    @property
    def has_errors(self) -> bool:
        """Whether an error-level finding survived (exit 1)."""
        return any(f.severity == "error" for f in self.findings)


def target_paths(paths: Sequence[str], config: Config) -> tuple[str, ...]:
    """The command line's paths, else the configured ones, else the cwd."""
    if paths:
        return tuple(paths)
    if config.paths:
        return tuple(display_path(os.path.join(config.root, p)) for p in config.paths)
    return (".",)


def cache_directory(start: str) -> str:
    """`$MIG_LINT_CACHE_DIR`, else `.mig-lint-cache` in the repository root (or `start`)."""
    configured = os.environ.get("MIG_LINT_CACHE_DIR")
    if configured:
        return configured
    return os.path.join(repository_root(start), ".mig-lint-cache")


def discover_trees(paths: Sequence[str], config: Config) -> tuple[TreeSpec, ...]:
    """Every tree under the paths; DiscoveryError when there is none.

    Files found on the way that cannot be used (an alembic.ini naming a missing folder,
    a broken pyproject.toml) are warned about on stderr and skipped.
    """
    targets = target_paths(paths, config)
    warnings: list[str] = []
    specs = discover(targets, config.exclude, config.trees, config.root, warnings)
    for warning in warnings:
        sys.stderr.write(f"mig-lint: warning: {warning}\n")
    if not specs:
        raise DiscoveryError(f"no alembic or migrate migrations found under {', '.join(targets)}")
    return specs


def read_graphs(
    specs: Sequence[TreeSpec], config: Config, use_cache: bool = True, files: Files = DISK
) -> tuple[Graph, ...]:
    """The graph of each tree, read from the working tree (or `files`, never cached)."""
    directory = cache_directory(os.getcwd()) if use_cache and files is DISK else None
    syntax, scripts = SyntaxCache(directory), ScriptCache(directory, script_hits)
    gc.unfreeze()  # what an earlier call kept (a process that checks again) is the collector's again
    gc.disable()  # thousands of small acyclic records: collections only cost time here
    try:
        with warnings.catch_warnings():  # compiling a script warns of its escapes: not mig-lint's output
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            graphs = tuple(
                build_graph(read_tree(spec, project_roots(config), syntax, files, cache=scripts)) for spec in specs
            )
    finally:
        # What was read lives as long as the run: left to the collector, it would all be walked
        # by the first collection after this and again at exit (about 60 ms at 10,000 revisions).
        gc.freeze()
        gc.enable()
    syntax.save()
    scripts.save()
    return graphs


def project_roots(config: Config) -> tuple[str, ...]:
    """Where `module.CONST` imports are looked up."""
    return (config.root, os.getcwd())


def load_graphs(paths: Sequence[str], config: Config, use_cache: bool = True) -> tuple[Graph, ...]:
    """Every tree under the paths, as graphs; DiscoveryError when there is none."""
    return read_graphs(discover_trees(paths, config), config, use_cache)


def check(paths: Sequence[str], config: Config, use_cache: bool = True, base: str | None = None) -> CheckResult:
    """Run every selected rule over every tree under `paths` (against branch `base` if given)."""
    specs = discover_trees(paths, config)
    graphs = read_graphs(specs, config, use_cache)
    base_branches = {}
    if base:
        from mig_lint.base_branch import load_base_branches

        base_branches = load_base_branches(base, specs, graphs, project_roots(config))
    rules = selected_rules(config)
    store = None
    if any(rule.code.startswith("ML6") for rule in rules):
        from mig_lint.rules.operations import open_store

        store = open_store(cache_directory(os.getcwd()) if use_cache else None)
    findings: list[Finding] = []
    for graph in graphs:
        context = RuleContext(graph, config, graphs, base_branches.get(graph.tree.path))
        findings.extend(run_rules(rules, context))
    if store is not None:
        store.save()
    kept = _suppress(findings, [g.tree for g in graphs], config)
    return CheckResult(graphs, tuple(sorted(set(kept), key=_order)), config)


def _order(finding: Finding) -> tuple[str, int, int, str, str]:
    return (finding.path, finding.line, finding.column, finding.code, finding.message)


def _suppress(findings: Sequence[Finding], trees: Sequence[Tree], config: Config) -> list[Finding]:
    inline = {path: dict(found) for tree in trees for path, found in tree.ignores}
    shown_root = display_path(config.root)
    kept = []
    for finding in findings:
        found = inline.get(finding.path, {})
        # Line 0: a header comment, for the whole script. No comment hides a syntax error.
        if finding.code != "ML201" and any(
            codes is not None and (not codes or any(finding.code.startswith(c) for c in codes))
            for codes in (found.get(finding.line), found.get(0))
        ):
            continue
        if is_ignored_for_file(finding, config, shown_root):
            continue
        kept.append(finding)
    return kept

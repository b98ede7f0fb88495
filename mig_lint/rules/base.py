"""What a rule is: a small function over one tree's graph, wrapped with its code."""
from __future__ import annotations

import inspect
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mig_lint.config import Config
from mig_lint.graph import Graph
from mig_lint.model import Finding
from mig_lint.model import Format
from mig_lint.model import Hit
from mig_lint.model import Script
from mig_lint.model import Severity
from mig_lint.model import SLOTS
from mig_lint.model import Tree

if TYPE_CHECKING:  # the gate's git reader is imported only by `check --base`
    from mig_lint.base_branch import BaseBranch


@dataclass(frozen=True, **SLOTS)
class RuleContext:
    """Everything a rule may look at: one tree's graph, the config, every tree of the run."""

    graph: Graph
    config: Config
    project: tuple[Graph, ...] = ()
    base_branch: BaseBranch | None = None

    @property
    def tree(self) -> Tree:
        return self.graph.tree


Check = Callable[[RuleContext], Iterator[Hit]]
ScriptCheck = Callable[[Script], Iterator[Hit]]


@dataclass(frozen=True, **SLOTS)
class Rule:
    """A registered check: stable code, kebab-case name, default severity, docs."""

    code: str
    name: str
    severity: Severity
    check: Check
    doc: str
    formats: frozenset[Format]
    opt_in: bool = False
    per_script: ScriptCheck | None = None  # the rule looks at one script at a time

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0].strip()

    def run(self, ctx: RuleContext) -> Iterator[Finding]:
        if ctx.tree.format not in self.formats:
            return
        for hit in self.check(ctx):
            yield Finding(
                code=self.code,
                name=self.name,
                severity=self.severity,
                message=hit.message,
                path=hit.path,
                line=hit.line,
                column=hit.column,
                tree=ctx.tree.path,
                revision=hit.revision,
                hint=hit.hint,
            )


def rule(
    code: str,
    name: str,
    severity: Severity,
    formats: tuple[Format, ...] = ("alembic", "migrate"),
    opt_in: bool = False,
) -> Callable[[Check], Rule]:
    """Wrap a check function in a `Rule`; nothing is registered anywhere."""

    def wrap(check: Check) -> Rule:
        doc = inspect.cleandoc(check.__doc__ or "")
        return Rule(code, name, severity, check, doc, frozenset(formats), opt_in)

    return wrap


Judge = Callable[[RuleContext, Iterator[Hit]], Iterator[Hit]]


def script_rule(
    code: str,
    name: str,
    severity: Severity,
    formats: tuple[Format, ...] = ("alembic", "migrate"),
    opt_in: bool = False,
    judge: Judge | None = None,
) -> Callable[[ScriptCheck], Rule]:
    """Wrap a check of one script in a `Rule`.

    Its hits depend on the script alone, so the reader computes them once per file as
    it reads it, and keeps them in the cache with the file's record (`Tree.script_hits`).
    A `judge` decides, against the tree and the configuration, which of them are findings.
    """

    def wrap(per_script: ScriptCheck) -> Rule:
        def check(ctx: RuleContext) -> Iterator[Hit]:
            hits = (hit for hit_code, hit in ctx.tree.script_hits if hit_code == code)
            yield from hits if judge is None else judge(ctx, hits)

        doc = inspect.cleandoc(per_script.__doc__ or "")
        return Rule(code, name, severity, check, doc, frozenset(formats), opt_in, per_script=per_script)

    return wrap

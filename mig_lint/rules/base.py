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
from mig_lint.model import Severity
from mig_lint.model import SLOTS
from mig_lint.model import Tree

if TYPE_CHECKING:  # the gate's git reader is imported only by `check --base`
    from mig_lint.baseline import Baseline


@dataclass(frozen=True, **SLOTS)
class Hit:
    """What a rule found, before the rule's code and severity are attached."""

    path: str
    line: int
    message: str
    hint: str | None = None
    revision: str | None = None
    column: int = 1


@dataclass(frozen=True, **SLOTS)
class RuleContext:
    """Everything a rule may look at: one tree's graph, the config, every tree of the run."""

    graph: Graph
    config: Config
    project: tuple[Graph, ...] = ()
    baseline: Baseline | None = None

    @property
    def tree(self) -> Tree:
        return self.graph.tree


Check = Callable[[RuleContext], Iterator[Hit]]


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

"""Reporters: each a pure `render(result, options) -> str`, chosen by name."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping

from mig_lint.check import CheckResult
from mig_lint.report.options import ReportOptions

Renderer = Callable[[CheckResult, ReportOptions], str]
_MODULES = {"github": "github", "json": "json_report", "junit": "junit", "sarif": "sarif", "text": "text"}


class _Renderers(Mapping[str, Renderer]):
    """Each format's renderer, its module imported when it is asked for (a check prints one format)."""

    def __getitem__(self, name: str) -> Renderer:
        render: Renderer = importlib.import_module(f"mig_lint.report.{_MODULES[name]}").render
        return render

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


FORMATS: Mapping[str, Renderer] = _Renderers()

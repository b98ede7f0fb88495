"""Paths as the reports show them: relative to the working directory, with `/`."""
from __future__ import annotations

import os


def display_path(path: str) -> str:
    """`path` relative to the cwd with forward slashes (absolute if on another drive)."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # pragma: no cover (Windows: another drive)
        relative = os.path.abspath(path)
    return relative.replace(os.sep, "/")

"""Paths as the reports show them: relative to the working directory, with `/`."""
from __future__ import annotations

import functools
import os


def display_path(path: str) -> str:
    """`path` relative to the cwd with forward slashes (absolute if on another drive)."""
    return _display(path, os.getcwd())


@functools.lru_cache(maxsize=4096)
def _display(path: str, cwd: str) -> str:
    """Cached on the explicit cwd: a tree's thousands of files share one folder."""
    try:
        relative = os.path.relpath(path, cwd)
    except ValueError:  # pragma: no cover (Windows: another drive)
        relative = os.path.abspath(path)
    return relative.replace(os.sep, "/")


def display_join(directory: str, name: str) -> str:
    """The display path of `name` inside `directory`."""
    shown = display_path(directory)
    return name if shown == "." else f"{shown}/{name}"


def repository_root(start: str) -> str:
    """The nearest folder at or above `start` that holds `.git`, else `start` (absolute)."""
    directory = os.path.abspath(start)
    while not os.path.exists(os.path.join(directory, ".git")):
        parent = os.path.dirname(directory)
        if parent == directory:
            return os.path.abspath(start)
        directory = parent
    return directory

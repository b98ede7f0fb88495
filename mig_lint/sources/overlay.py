"""Files as they will be after planned edits and renames, read without writing anything.

`mig-lint fix` plans its moves (rebase, renumber) first, and the fixes that follow them
(header lines, head files) depend on the moved files; reading the trees through an
overlay lets `--diff` and `--dry-run` show every change, and lets a real run write them
all at once or not at all.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from mig_lint.sources.files import DISK
from mig_lint.sources.files import Files


class OverlayFiles:
    """The disk with some files' bytes replaced and some files renamed (paths as given, any form)."""

    def __init__(self, contents: Mapping[str, bytes], renames: Mapping[str, str]) -> None:
        self._base: Files = DISK
        self._contents = {os.path.abspath(p): data for p, data in contents.items()}
        self._sources = {os.path.abspath(new): os.path.abspath(old) for old, new in renames.items()}
        self._moved = set(self._sources.values()) | set(self._sources)  # names whose file is not the disk's

    def _origin(self, path: str) -> str:
        """Where the file at `path` is on `base` now."""
        full = os.path.abspath(path)
        return self._sources.get(full, full)

    def _renamed_into(self, directory: str) -> list[str]:
        folder = os.path.abspath(directory)
        return [os.path.basename(new) for new in self._sources if os.path.dirname(new) == folder]

    def scan(self, directory: str) -> tuple[list[str], list[tuple[str, bool]]]:
        dirs, found = self._base.scan(directory)
        folder = os.path.abspath(directory)
        kept = [(name, link) for name, link in found if os.path.join(folder, name) not in self._moved]
        return dirs, kept + [(name, False) for name in self._renamed_into(directory)]

    def status(self, path: str) -> tuple[int, int, int] | None:
        return None  # never cached: the overlay is not what is on disk

    def listdir(self, path: str) -> list[str]:
        folder = os.path.abspath(path)
        names = [n for n in self._base.listdir(path) if os.path.join(folder, n) not in self._moved]
        return names + self._renamed_into(path)

    def isdir(self, path: str) -> bool:
        return self._base.isdir(path)

    def isfile(self, path: str) -> bool:
        full = os.path.abspath(path)
        if full in self._moved and full not in self._sources:
            return False
        return full in self._contents or self._base.isfile(self._origin(path))

    def read_bytes(self, path: str) -> bytes:
        full = os.path.abspath(path)
        if full in self._moved and full not in self._sources:
            raise FileNotFoundError(path)
        if full in self._contents:
            return self._contents[full]
        return self._base.read_bytes(self._origin(path))

    def realpath(self, path: str) -> str:
        return self._base.realpath(path)

    def blob_id(self, path: str) -> str | None:
        return None

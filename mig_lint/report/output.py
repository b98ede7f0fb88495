"""`--output FILE`: a report written whole or not at all."""
from __future__ import annotations

from mig_lint.atomic import write_atomically


def write_report(path: str, text: str) -> None:
    """Write `text` to `path` atomically, exactly as given (no newline translation).

    Raises OSError when the folder is missing or not writable.
    """
    write_atomically(path, text.encode("utf-8", "surrogateescape"))

"""Counts in messages: `1 revision`, `2 revisions`."""
from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` and `noun`, plural (`plural`, else noun + "s") unless the count is exactly one."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"

"""Readers: files on disk (or, later, git objects) to `Tree` records."""
from __future__ import annotations

"""Fixes as data: `Edit`s computed from findings' facts, applied byte for byte."""
from __future__ import annotations

"""ML210's judgement: does a revision id look typed by hand rather than generated?

alembic's ids are 12 random hex digits, so any pattern a person would type is rare
among them; each test below is chosen so that random ids almost never pass it
(`benchmarks/placeholder_ids.py` counts how often among generated ids). Every test
first counts the steps it needs, so a random id is dismissed after a few comparisons.
"""
from __future__ import annotations

_VALUE = {c: i for i, c in enumerate("0123456789abcdef")}
_HEX_WORDS = ("deadbeef", "cafebabe", "feedface", "decafbad", "8badf00d", "badc0de", "0ddba11", "c0ffee")
_ALEMBIC_LENGTH = 12
_LONG_RUN = 7  # consecutive digits stepping by one (`3456789`)
_INTERLEAVED = 6  # every other digit stepping by one (`a1b2c3d4e5f6`: a..f and 1..6)
_OTHER_INTERLEAVED = 4  # ... while the digits between make a run too
_REPEATS = 6  # characters equal to the one 1, 2 or 3 places before, in a row
_SEGMENT = 3  # the shortest run of a made-up id (`abc123`)


def _longest_run(values: list[int]) -> tuple[int, int]:
    """The longest stretch stepping by +1 throughout, or by -1 throughout: (start, length)."""
    best, start, direction = (0, min(len(values), 1)), 0, 0
    for i in range(1, len(values)):
        step = values[i] - values[i - 1]
        if step != 1 and step != -1:
            start, direction = i, 0
            continue
        if step != direction:
            start, direction = i - 1, step
        if i - start + 1 > best[1]:
            best = (start, i - start + 1)
    return best


def _longest_repeat(values: list[int]) -> tuple[int, int]:
    """The longest stretch of characters equal to the one `period` places before: (period, count)."""
    best = (1, 0)
    for period in (1, 2, 3):
        count = 0
        for i in range(period, len(values)):
            count = count + 1 if values[i] == values[i - period] else 0
            if count > best[1]:
                best = (period, count)
    return best


def _segments(revision: str, values: list[int]) -> list[str] | None:
    """`revision` cut into runs of 3 or more characters stepping by -1, 0 or +1 each; None when it cannot be."""
    cuts: list[list[str] | None] = [[]] + [None] * len(revision)
    for end in range(_SEGMENT, len(revision) + 1):
        for start in range(end - _SEGMENT + 1):  # the longest piece first
            before = cuts[start]
            if before is None:
                continue
            step = values[start + 1] - values[start]
            if -1 <= step <= 1 and all(values[i + 1] - values[i] == step for i in range(start + 1, end - 1)):
                cuts[end] = [*before, revision[start:end]]
                break
    return cuts[-1]


def _small_steps(values: list[int], stride: int, allowed: tuple[int, ...]) -> int:
    return sum(1 for a, b in zip(values, values[stride:]) if b - a in allowed)


def _long_id_pattern(revision: str, values: list[int]) -> str | None:
    if _small_steps(values, 1, (1, -1)) >= _LONG_RUN - 1:
        start, length = _longest_run(values)
        if length >= _LONG_RUN:
            return f"the run {revision[start:start + length]!r}"
    if _small_steps(values, 2, (1, -1)) >= _INTERLEAVED + _OTHER_INTERLEAVED - 2:
        for parity in (0, 1):
            if (_longest_run(values[parity::2])[1] >= _INTERLEAVED
                    and _longest_run(values[1 - parity::2])[1] >= _OTHER_INTERLEAVED):
                return "two interleaved runs"
    if any(_small_steps(values, period, (0,)) >= _REPEATS for period in (1, 2, 3)):
        period, count = _longest_repeat(values)
        if count >= _REPEATS:
            return "a repetition" if period == 1 else f"a pattern repeating every {period} characters"
    return None


def _short_id_pattern(values: list[int]) -> str | None:
    evens, odds = values[0::2], values[1::2]
    if len(odds) >= _SEGMENT and _longest_run(evens)[1] == len(evens) and _longest_run(odds)[1] == len(odds):
        return "two interleaved runs"
    return None


def placeholder_reason(revision: str) -> str | None:
    """What makes `revision` look hand-typed, or None (see ML210's documentation for the tests)."""
    if not revision or any(c not in _VALUE for c in revision):
        return None  # word ids, separators, capitals: chosen, not typed as a fake hash
    if len(revision) < _ALEMBIC_LENGTH and (revision.isdigit() or not any(c.isdigit() for c in revision)):
        return None  # numbered ids (`001`, convert's `0217`) and hex words (`facade`)
    word = next((w for w in _HEX_WORDS if w in revision), None)
    if word is not None:
        return f"the word {word!r}"
    values = [_VALUE[c] for c in revision]
    long_id = len(revision) >= _ALEMBIC_LENGTH
    found = _long_id_pattern(revision, values) if long_id else _short_id_pattern(values)
    if found is not None:
        return found
    # Runs of 3 or more cover the id: at most one step in 3 may be a large one.
    if len(revision) >= 2 * _SEGMENT and 3 * _small_steps(values, 1, (-1, 0, 1)) >= 2 * (len(values) - 1):
        pieces = _segments(revision, values)
        if pieces is not None:
            return "the runs " + ", ".join(repr(p) for p in pieces)
    return None

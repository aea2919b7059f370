"""A fast first pass for the classifier's regular expressions.

Python's ``re`` tries every pattern at every position of every text, and the policy
has hundreds of patterns. A multi-pattern engine finds, in one pass per text, which
patterns *may* match; Python's ``re`` then searches a text only with those. Neither
engine here has look-around, so each pattern is first *widened* into one that matches
at least everything the original does: look-arounds and word boundaries dropped,
``\\w`` spelled as any non-space character.

The engine is Hyperscan where it is installed (x86-64 wheels), else Arrow's RE2
(one vectorised pass per pattern over all texts).
"""
from __future__ import annotations

from functools import cache
from typing import Protocol, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:
    import hyperscan
except ImportError:  # no wheel for this platform
    hyperscan = None

_LOOKAROUNDS = ("(?<!", "(?<=", "(?!", "(?=")
_ESCAPES = {r"\b": "", r"\B": "", r"\w": r"\S", r"\W": r"[\s\S]"}
_ESCAPES_IN_CLASS = {r"\w": r"\S"}


@cache
def widened(pattern: str) -> str:
    """``pattern`` without look-arounds and word boundaries: a superset, in RE2/Hyperscan syntax."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        if not in_class and pattern.startswith(_LOOKAROUNDS, i):
            i = _group_end(pattern, i) + 1
            continue
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            escape = pattern[i:i + 2]
            out.append((_ESCAPES_IN_CLASS if in_class else _ESCAPES).get(escape, escape))
            i += 2
            continue
        in_class = (in_class and char != "]") or (not in_class and char == "[")
        out.append(char)
        i += 1
    return "".join(out)


def _group_end(pattern: str, start: int) -> int:
    """Index of the parenthesis closing the group opened at ``start``."""
    depth, i = 0, start
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(pattern[i], 0)
        if depth == 0:
            return i
        i += 1
    return len(pattern)


class Scanner(Protocol):
    def candidates(self, texts: Sequence[str]) -> list[set[int]]:
        """For each text, the indices of the patterns that may match it (case-insensitively)."""


class HyperscanScanner:
    """All patterns in one Hyperscan database: one pass per text."""

    def __init__(self, patterns: Sequence[str]):
        flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY
        self.database = hyperscan.Database()
        self.database.compile(
            expressions=[widened(p).encode() for p in patterns], ids=list(range(len(patterns))), flags=[flags] * len(patterns)
        )

    def candidates(self, texts: Sequence[str]) -> list[set[int]]:
        def found(pattern_id, start, end, flags, hits):
            hits.add(pattern_id)

        out = []
        for text in texts:
            hits: set[int] = set()
            self.database.scan(text.encode(), match_event_handler=found, context=hits)
            out.append(hits)
        return out


class ArrowScanner:
    """One vectorised RE2 pass per pattern over all texts (no Hyperscan on this platform)."""

    def __init__(self, patterns: Sequence[str]):
        self.patterns = [widened(p) for p in patterns]

    def candidates(self, texts: Sequence[str]) -> list[set[int]]:
        column = pa.array(list(texts), pa.string())
        out: list[set[int]] = [set() for _ in texts]
        for index, pattern in enumerate(self.patterns):
            try:
                mask = pc.match_substring_regex(column, pattern, ignore_case=True).to_numpy(zero_copy_only=False)
            except pa.ArrowInvalid:  # RE2 cannot take it: every text is a candidate
                mask = np.ones(len(out), dtype=bool)
            for row in np.flatnonzero(mask):
                out[row].add(index)
        return out


@cache
def scanner(patterns: tuple[str, ...]) -> Scanner:
    """The compiled scanner of a pattern set (compiled once per process)."""
    return (HyperscanScanner if hyperscan is not None else ArrowScanner)(patterns)

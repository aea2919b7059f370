"""A fast first pass for the classifier's regular expressions.

Python's ``re`` tries every pattern at every position of every text; Arrow's RE2 engine
scans a whole column in C++. RE2 has no look-around, so a pattern is first widened
into one that matches everything the original does (look-arounds and word boundaries
dropped, ``\\w`` spelled as Unicode classes); RE2 then picks the texts that may match,
and only those are searched with the exact pattern.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_LOOKAROUNDS = ("(?<!", "(?<=", "(?!", "(?=")
_WORD = r"\pL\pN_"
_ESCAPES = {r"\b": "", r"\B": "", r"\w": f"[{_WORD}]", r"\W": f"[^{_WORD}]"}
_ESCAPES_IN_CLASS = {r"\w": _WORD}


@cache
def widened(pattern: str) -> str:
    """``pattern`` without look-arounds and word boundaries: RE2 syntax matching a superset."""
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


def may_match(texts: pd.Series, pattern: str) -> np.ndarray:
    """A boolean mask of the texts that may match ``pattern`` (case-insensitive); all when RE2
    cannot take the widened pattern."""
    try:
        found = pc.match_substring_regex(pa.array(texts.to_numpy(dtype=object), pa.string()), widened(pattern), ignore_case=True)
    except pa.ArrowInvalid:
        return np.ones(len(texts), dtype=bool)
    return found.to_numpy(zero_copy_only=False).astype(bool)

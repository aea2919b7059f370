"""The prefilter may let through texts a pattern does not match, but never drop one it does."""
from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from auditlib.classify import plain_text
from auditlib.policy import load_policy
from auditlib.prefilter import ArrowScanner, HyperscanScanner, hyperscan, widened

from conftest import REAL, ROOT

POLICY = load_policy()
PATTERNS = tuple(dict.fromkeys(
    [p for t in POLICY.topic_patterns.values() for p in t.strong + t.weak]
    + [p for ps in POLICY.product_patterns.values() for p in ps]
))
SCANNERS = [ArrowScanner] + ([HyperscanScanner] if hyperscan is not None else [])


def texts() -> list[str]:
    """The labelled set's subjects and bodies, and the real Message Center posts when present."""
    labelled = pd.read_csv(ROOT / "tests" / "eval" / "labelled.csv", dtype=str).fillna("")
    found = labelled["subject"].tolist() + plain_text(labelled["body"]).tolist()
    if (REAL / "message-center").is_dir():
        posts = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((REAL / "message-center").glob("*.json"))]
        found += [p["Title"] for p in posts] + plain_text(pd.Series([p["Body"]["Content"] for p in posts])).tolist()
    return found


@pytest.mark.parametrize(
    "pattern,text,expected",
    [
        (r"(?<!security )\bcopilot\b(?! studio)", "security copilot", True),   # look-arounds dropped
        (r"\border(?:s|ed)?\b", "preordered", True),                            # boundaries dropped
        (r"\bnew (?:[\w-]+ )?features?\b", "new admin feature", True),          # \w kept inside a class
        (r"\binvoice\b", "payment", False),
    ],
)
def test_widened_pattern_is_a_superset(pattern, text, expected):
    assert bool(re.search(widened(pattern), text, re.IGNORECASE)) is expected
    if re.search(pattern, text, re.IGNORECASE):
        assert expected


@pytest.mark.parametrize("scanner", SCANNERS, ids=lambda s: s.__name__)
def test_scanner_never_drops_a_true_match(scanner):
    corpus = texts()
    candidates = scanner(PATTERNS).candidates(corpus)
    compiled = [re.compile(p, re.IGNORECASE) for p in PATTERNS]
    dropped = [(PATTERNS[i], text[:60]) for text, found in zip(corpus, candidates)
               for i, pattern in enumerate(compiled) if i not in found and pattern.search(text)]
    assert dropped == []
    assert sum(map(len, candidates)) < len(corpus) * len(PATTERNS) / 10  # and it does filter

"""Texts already decided, shared by the batches of one run, so a log classifies each distinct text once.

Batches of a streamed log repeat the same templated texts; without a cache every batch would
classify them again. A text tuple is keyed by a 64-bit hash of (subject, body, source,
category, product), the columns :func:`auditlib.classify.classify` decides from, so a cached
decision is the one classifying it again would give.
"""
from __future__ import annotations

import pandas as pd

from .classify import TEXT_COLUMNS, classify
from .frames import distinct_rows, expand
from .policy import Policy

DECIDED_COLUMNS = ["topic", "topic_evidence", "topic_confidence", "product", "product_evidence"]


class DecidedTexts:
    """Classification of text tuples with memory: only tuples not seen in an earlier batch are classified."""

    def __init__(self) -> None:
        self.keys = pd.Index([], dtype="uint64")
        self.decided = pd.DataFrame(columns=DECIDED_COLUMNS)

    def __len__(self) -> int:
        return len(self.keys)

    def classify(self, frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
        """What :func:`auditlib.classify.classify` adds to ``frame``, classifying only texts new to this cache."""
        codes, unique = distinct_rows(frame, TEXT_COLUMNS)
        keys = pd.util.hash_pandas_object(unique, index=False).to_numpy()
        new = self.keys.get_indexer(keys) < 0
        if new.any():
            fresh = classify(unique[new].reset_index(drop=True), policy)[DECIDED_COLUMNS]
            fresh = fresh.astype({c: object for c in DECIDED_COLUMNS if c != "topic_confidence"})
            self.decided = pd.concat([self.decided, fresh], ignore_index=True) if len(self) else fresh
            self.keys = self.keys.append(pd.Index(keys[new], dtype="uint64"))
        found = self.decided.iloc[self.keys.get_indexer(keys)].reset_index(drop=True)
        fixed = {"topic": tuple(policy.topics), "product": tuple(policy.products) + ("unknown",)}
        return frame.assign(**{c: expand(found[c], codes, fixed.get(c)) for c in DECIDED_COLUMNS})

"""Texts already decided, shared by the batches of one run, so a log classifies each distinct text once.

Batches of a streamed log, and the partitions a Dask worker audits, repeat the same templated
texts; without a cache every batch would classify them again. A text tuple is keyed by a 64-bit
hash of (subject, body, source, category, product), the columns :func:`auditlib.classify.classify`
decides from, so a cached decision is the one classifying it again would give.
"""
from __future__ import annotations

import threading

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
        self._lock = threading.Lock()  # a Dask worker may run several partitions at once

    def __len__(self) -> int:
        return len(self.keys)

    def classify(self, frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
        """What :func:`auditlib.classify.classify` adds to ``frame``, classifying only texts new to this cache."""
        codes, unique = distinct_rows(frame, TEXT_COLUMNS)
        keys = pd.util.hash_pandas_object(unique, index=False).to_numpy()
        with self._lock:
            new = self.keys.get_indexer(keys) < 0
        if new.any():  # classified outside the lock; kept only where no other thread got there first
            fresh = classify(unique[new].reset_index(drop=True), policy)[DECIDED_COLUMNS]
            fresh = fresh.astype({c: object for c in DECIDED_COLUMNS if c != "topic_confidence"})
            with self._lock:
                still = self.keys.get_indexer(keys[new]) < 0
                self.decided = pd.concat([self.decided, fresh[still]], ignore_index=True) if len(self) else fresh[still]
                self.keys = self.keys.append(pd.Index(keys[new][still], dtype="uint64"))
        with self._lock:
            found = self.decided.iloc[self.keys.get_indexer(keys)].reset_index(drop=True)
        fixed = {"topic": tuple(policy.topics), "product": tuple(policy.products) + ("unknown",)}
        return frame.assign(**{c: expand(found[c], codes, fixed.get(c)) for c in DECIDED_COLUMNS})


_LATEST: dict[str, DecidedTexts] = {}  # this process's decided texts, of the latest run only
_LATEST_LOCK = threading.Lock()


def of_run(run: str) -> DecidedTexts:
    """This process's decided texts of run ``run``: a Dask worker keeps them across the partitions
    it audits, as the batched engine keeps them across batches. A new run starts afresh, so a
    long-lived worker holds one run's texts at most."""
    with _LATEST_LOCK:
        if run not in _LATEST:
            _LATEST.clear()
            _LATEST[run] = DecidedTexts()
        return _LATEST[run]

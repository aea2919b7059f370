"""Stable names for findings, so review decisions and history can refer to them across runs.

A *finding* is one flagged (``violation`` or ``needs_review``) message-recipient row: its
``finding_id`` depends on the message and recipient alone, so the same mail gets the same id in
every run, whatever the row order, batch size or engine. A *pattern* is what keeps happening:
one sender writing to one customer about one topic and product with one outcome; its
``pattern_id`` lets one decision settle every current and future row of it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .frames import distinct_rows
from .io.log import message_keys

FINDING_COLUMNS = ("finding_id", "pattern_id")
FLAGGED = ("violation", "needs_review")
PATTERN_FACTS = ("sender_address", "customer_id", "topic", "product", "verdict", "rule_id")
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE_SHIFTS = np.arange(60, -4, -4, dtype=np.uint64)


def short_ids(prefix: str, hashes: np.ndarray) -> np.ndarray:
    """64-bit hashes as ``prefix`` + 16 hex digits, without a Python call per value."""
    nibbles = (hashes.astype(np.uint64)[:, None] >> _NIBBLE_SHIFTS) & np.uint64(0xF)
    digits = np.ascontiguousarray(_HEX[nibbles.astype(np.intp)]).view("S16").ravel().astype("U16")
    return np.char.add(prefix, digits) if len(digits) else np.empty(0, dtype=f"U{len(prefix) + 16}")


def _text_hashes(text: pd.Series) -> np.ndarray:
    """pandas' fixed-key SipHash of each text: the same value in every run and process. Not
    categorised first: the texts hashed here are (nearly) all distinct, so that would only add a pass."""
    return pd.util.hash_pandas_object(text.astype("object"), index=False, categorize=False).to_numpy()


def pattern_keys(verdicts: pd.DataFrame) -> pd.Series:
    """The facts that name a pattern as one text: lower-cased sender, customer, topic, product,
    verdict and rule (an empty value stays empty, whether it was read as NaN, None or '')."""
    facts = verdicts[list(PATTERN_FACTS)].astype("object").where(verdicts[list(PATTERN_FACTS)].notna(), "").astype("str")
    key = facts["sender_address"].str.lower()
    for column in PATTERN_FACTS[1:]:
        key = key + "\x1f" + facts[column]
    return key


def identify(verdicts: pd.DataFrame) -> pd.DataFrame:
    """``finding_id`` and ``pattern_id`` of every flagged row, as text; other rows leave both missing."""
    flagged = verdicts["verdict"].isin(FLAGGED).to_numpy()
    keys = verdicts.loc[flagged, ["message_id", "recipient_address"]].astype("str")
    # rows repeat a few patterns: name each distinct combination of facts once
    codes, facts = distinct_rows(verdicts.loc[flagged, list(PATTERN_FACTS)], list(PATTERN_FACTS))
    ids = {"finding_id": short_ids("F", _text_hashes(message_keys(keys))),
           "pattern_id": short_ids("P", _text_hashes(pattern_keys(facts)))[codes]}
    # each row's place among the flagged rows, missing for the others: ids reach the rows in Arrow, no object per row
    place = pa.array(np.cumsum(flagged) - 1, mask=~flagged)
    return pd.DataFrame({column: pd.array(pc.take(pa.array(ids[column]), place), dtype="str") for column in FINDING_COLUMNS},
                        index=verdicts.index)


DISMISSING = ("false_positive", "accepted_risk")  # review decisions after which a violation is no longer open


def _decisions(verdicts: pd.DataFrame) -> pd.Series:
    """Each row's review decision; all missing when the verdicts carry no review columns."""
    if "review_decision" in verdicts:
        return verdicts["review_decision"]
    return pd.Series(None, index=verdicts.index, dtype="object")


def open_violations(verdicts: pd.DataFrame) -> pd.Series:
    """Which rows are open violations: the machine's violations that review did not dismiss (as a
    false positive or an accepted risk)."""
    return (verdicts["verdict"] == "violation") & ~_decisions(verdicts).isin(DISMISSING)


def awaiting_review(verdicts: pd.DataFrame) -> pd.Series:
    """Which rows are in the review queue: ``needs_review`` rows that no review decision settled yet."""
    return (verdicts["verdict"] == "needs_review") & _decisions(verdicts).isna()

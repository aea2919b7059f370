"""Review: what people decided about findings, carried onto the verdict rows they name.

A decision names a finding (``finding_id``: one message to one recipient) or a pattern
(``pattern_id``: every row of one sender, customer, topic, product and outcome, in this run and
later ones). It covers a row sent before it ``expires`` (always, without one). Of the decisions
covering a row, one is shown: one naming the finding itself beats any naming its pattern (a
person looked at that very message), and among equals the latest ``decided_at`` wins (then
the later row of the file). The machine's ``verdict`` never changes; the row gains
``review_decision, reviewed_by, reviewed_at, review_comment``, and :func:`history` keeps every
decision that named it. Rows are matched by joins on the ids, never one by one.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

REVIEW_COLUMNS = ("review_decision", "reviewed_by", "reviewed_at", "review_comment")
_SHOWN = {"decision": "review_decision", "reviewer": "reviewed_by", "decided_at": "reviewed_at", "comment": "review_comment"}
HISTORY_COLUMNS = ("finding_id", "pattern_id", "sent_at", "by", "id", "decision", "reviewer", "decided_at", "comment",
                   "expires", "covers", "in_force", "row")


def candidates(verdicts: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Every pair of a flagged row (``position`` in ``verdicts``) and a decision naming its finding or
    its pattern (``by``), with ``covers``: the row was sent before the decision expires."""
    named = verdicts["finding_id"].isin(decisions["id"]) | verdicts["pattern_id"].isin(decisions["id"])
    rows = verdicts.loc[named.to_numpy(), ["finding_id", "pattern_id", "sent_at"]].assign(
        position=np.flatnonzero(named.to_numpy()))
    pairs = pd.concat([rows.merge(decisions, left_on=key, right_on="id").assign(by=by)
                       for key, by in (("finding_id", "finding"), ("pattern_id", "pattern"))], ignore_index=True)
    return pairs.assign(covers=pairs["expires"].isna() | (pairs["sent_at"] < pairs["expires"]))


def _in_force(pairs: pd.DataFrame) -> pd.DataFrame:
    """The one covering decision each row shows: its finding's over its pattern's, then the latest."""
    ranked = pairs[pairs["covers"]].assign(specific=lambda p: p["by"] == "finding")
    return ranked.sort_values(["position", "specific", "decided_at", "row"], kind="stable").drop_duplicates("position", keep="last")


def apply_decisions(verdicts: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """``verdicts`` with :data:`REVIEW_COLUMNS` right after ``finding_id, pattern_id`` (replacing
    any already there), filled where a decision covers the row; ``decisions`` as
    :func:`auditlib.io.decisions.read_decisions` gives them."""
    verdicts = verdicts.drop(columns=[c for c in REVIEW_COLUMNS if c in verdicts])
    shown = _in_force(candidates(verdicts, decisions)).set_index("position")[list(_SHOWN)].rename(columns=_SHOWN)
    review = shown.reindex(range(len(verdicts))).astype(
        {"review_decision": "object", "reviewed_by": "object", "review_comment": "object", "reviewed_at": "datetime64[ns, UTC]"})
    review = review.set_axis(verdicts.index).where(review.notna(), None).astype({"reviewed_at": "datetime64[ns, UTC]"})
    columns = list(verdicts.columns)
    at = columns.index("pattern_id") + 1
    return pd.concat([verdicts, review], axis=1)[columns[:at] + list(REVIEW_COLUMNS) + columns[at:]]


def matched_ids(verdicts: pd.DataFrame, decisions: pd.DataFrame) -> frozenset[str]:
    """The decisions' ids that name a finding or pattern among ``verdicts`` (a batch's, on a batched run)."""
    ids = decisions["id"]
    return frozenset(ids[ids.isin(verdicts["finding_id"]) | ids.isin(verdicts["pattern_id"])])


def unmatched(decisions: pd.DataFrame, matched: frozenset[str], file: str) -> list[str]:
    """A warning for each decision whose id named no row of the run (a typo, or verdicts of another period)."""
    lost = decisions[~decisions["id"].isin(list(matched))]
    return (file + ", row " + lost["row"].astype("str") + ", column id: " + lost["id"]
            + " matches no finding or pattern of these verdicts").tolist()


def history(verdicts: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Per finding, every decision that named it or its pattern, in time order (:data:`HISTORY_COLUMNS`):
    ``covers`` says whether it covered the message (not expired by then), ``in_force`` which one its
    row shows."""
    pairs = candidates(verdicts, decisions)
    shown = _in_force(pairs)
    pairs = pairs.assign(in_force=pairs.index.isin(shown.index))
    return pairs.sort_values(["finding_id", "decided_at", "row"], kind="stable")[list(HISTORY_COLUMNS)].reset_index(drop=True)

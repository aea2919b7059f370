"""Deciding in JupyterLab: the helpers ``notebooks/review.ipynb`` calls, usable from any Python.

Load verdicts with the decisions recorded so far, narrow the queue of undecided findings by
partner, sender, rule or pattern, record a decision for chosen findings or patterns (appended to
the decisions file, with the reviewer and the time in UTC) and read a finding's history. The
decisions file is the one ``auditlib audit --decisions`` and ``auditlib report --decisions``
read (README, "Reviewing findings"); these functions only add rows to it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from . import summarise
from .findings import FLAGGED, PATTERN_FACTS
from .io.decisions import COLUMNS, append_decisions, read_decisions
from .io.inputs import load_verdicts
from .policy import Policy
from .registry import Registry
from .review_decisions import REVIEW_COLUMNS, apply_decisions, history as decision_history

QUEUE_COLUMNS = ("finding_id", "pattern_id", "verdict", "rule_id", "sent_at", "sender_address", "recipient_address",
                 "customer_id", "partner_ids", "topic", "product", "subject", "reason", *REVIEW_COLUMNS)


def decisions(path: str | Path, policy: Policy | None = None) -> pd.DataFrame:
    """The decisions recorded in ``path`` (none yet when the file does not exist)."""
    if not Path(path).is_file():
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns, UTC]" if c in ("decided_at", "expires") else "object")
                             for c in (*COLUMNS, "row")})
    return read_decisions(path, policy).table


def load(verdicts: str | Path, decisions_file: str | Path, policy: Policy | None = None) -> pd.DataFrame:
    """A verdicts file from ``auditlib audit`` with the review columns of ``decisions_file``."""
    return apply_decisions(load_verdicts(verdicts), decisions(decisions_file, policy))


def queue(reviewed: pd.DataFrame, registry: Registry | None = None, partner: str = "", sender: str = "",
          rule: str = "", pattern: str = "", verdict: str = "", decided: bool = False) -> pd.DataFrame:
    """Findings (violations and needs_review rows) no decision covers yet, oldest first; ``decided``:
    those with a decision too. Narrowed to a ``partner``'s rows (as its report counts them: needs
    the ``registry``), a ``sender`` address (any case), a ``rule`` id, a ``pattern`` id or a ``verdict``."""
    rows = reviewed[reviewed["verdict"].astype("str").isin(FLAGGED)]
    if not decided:
        rows = rows[rows["review_decision"].isna()]
    if partner:
        if registry is None:
            raise ValueError("a partner's queue needs the registry (a provider also answers for its resellers)")
        rows = summarise.partner_rows(rows, registry, partner)
    wanted = {"sender_address": sender.lower(), "rule_id": rule, "pattern_id": pattern, "verdict": verdict}
    for column, value in wanted.items():
        if value:
            given = rows[column].astype("str")
            rows = rows[(given.str.lower() if column == "sender_address" else given) == value]
    return rows.sort_values("sent_at", kind="stable").reindex(columns=[c for c in QUEUE_COLUMNS if c in rows]).reset_index(drop=True)


def patterns(rows: pd.DataFrame) -> pd.DataFrame:
    """Queue rows by pattern, most findings first: one decision on a ``pattern_id`` covers all of them,
    and the pattern's later mail too."""
    grouped = rows.assign(verdict=rows["verdict"].astype("str")).groupby("pattern_id", sort=False)
    table = grouped[list(PATTERN_FACTS)].first().join(grouped["sent_at"].agg(findings="size", first="min", last="max"))
    return table.sort_values(["findings", "last"], ascending=False, kind="stable").reset_index()


def record(decisions_file: str | Path, ids: Iterable[str], decision: str, reviewer: str, comment: str = "",
           expires: str | pd.Timestamp | None = None, policy: Policy | None = None) -> pd.DataFrame:
    """Append one decision per id (finding or pattern ids, each once) to ``decisions_file``, made by
    ``reviewer`` now (UTC); nothing is written unless every row is valid. Returns the rows added."""
    chosen = list(dict.fromkeys(pd.Series(list(ids), dtype="object").dropna().astype("str")))
    if not chosen:
        raise ValueError("no finding or pattern ids chosen")
    rows = pd.DataFrame({"id": chosen, "decision": decision, "reviewer": reviewer,
                         "decided_at": pd.Timestamp.now(tz="UTC").floor("s"), "comment": comment or None, "expires": expires})
    append_decisions(decisions_file, rows, policy)
    return rows


def history(reviewed: pd.DataFrame, decisions_file: str | Path, finding_id: str = "", policy: Policy | None = None) -> pd.DataFrame:
    """Every decision that named each finding (or only ``finding_id``) or its pattern, oldest first,
    with ``in_force`` marking the one its row shows (:func:`auditlib.review_decisions.history`)."""
    found = decision_history(reviewed, decisions(decisions_file, policy))
    return found[found["finding_id"] == finding_id].reset_index(drop=True) if finding_id else found


def show(frame: pd.DataFrame, caption: str = "") -> None:
    """An interactive table (itables: sort, search, page; every cell shown as text) in JupyterLab."""
    from itables import show as interactive

    interactive(frame, caption=caption or None, maxBytes=0, column_filters="header")

"""Findings over time: which patterns are new, recurring or resolved against an earlier report.

A report keeps, per partner, the patterns its period had findings of (:func:`patterns`); the
next report compares its own with them (:func:`states`). A pattern (``pattern_id``: one sender,
customer, topic, product and outcome) is *new* when only the current period has findings of it,
*recurring* when both have, *resolved* when only the earlier one had. Each report also carries
forward the open violations of every period the chain of reports knows (:func:`trend`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .findings import open_violations

STATES = ("new", "recurring", "resolved")
FACTS = ("verdict", "rule_id", "severity", "sender_address", "customer_id", "topic", "product")
PATTERN_COLUMNS = ("pattern_id", *FACTS, "findings", "open_violations", "first_seen", "last_seen")
COUNTS = ("findings", "open_violations")


def patterns(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per pattern with findings among ``rows`` (one partner's rows of one period): its
    facts (sender lower-cased, as the id is made), how many findings and open violations, and
    when it was first and last seen; by ``pattern_id``."""
    flagged = rows[rows["pattern_id"].notna()]
    facts = flagged[list(FACTS)].astype("object").assign(sender_address=flagged["sender_address"].astype("str").str.lower())
    grouped = facts.assign(pattern_id=flagged["pattern_id"].astype("str"), open_violations=open_violations(flagged),
                           sent_at=flagged["sent_at"]).groupby("pattern_id", sort=True, dropna=False)
    table = grouped[list(FACTS)].first().assign(
        findings=grouped.size(), open_violations=grouped["open_violations"].sum().astype("int64"),
        first_seen=grouped["sent_at"].min(), last_seen=grouped["sent_at"].max())
    return table.reset_index().reindex(columns=list(PATTERN_COLUMNS))


def states(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """The patterns of two periods (each as :func:`patterns` makes them) with their ``state``, new
    first, then recurring, then resolved, most findings first within each. ``findings`` and
    ``open_violations`` are the current period's (zero for a resolved pattern); ``findings_before``
    the earlier one's; first and last seen span both periods."""
    merged = now.merge(before, on="pattern_id", how="outer", suffixes=("", "_before"), indicator=True)
    state = merged["_merge"].map({"left_only": "new", "both": "recurring", "right_only": "resolved"}).astype("str")
    earlier = merged[[f"{c}_before" for c in FACTS]].set_axis(list(FACTS), axis=1)
    table = merged[list(FACTS)].astype("object").fillna(earlier.astype("object")).assign(
        pattern_id=merged["pattern_id"], state=pd.Categorical(state, categories=STATES, ordered=True),
        findings=merged["findings"].fillna(0).astype("int64"), findings_before=merged["findings_before"].fillna(0).astype("int64"),
        open_violations=merged["open_violations"].fillna(0).astype("int64"),
        first_seen=merged[["first_seen", "first_seen_before"]].min(axis=1),
        last_seen=merged[["last_seen", "last_seen_before"]].max(axis=1))
    table = table.sort_values(["state", "findings", "findings_before", "pattern_id"], ascending=[True, False, False, True],
                              kind="stable")
    return table[["state", "pattern_id", *FACTS, "findings", "findings_before", "open_violations", "first_seen",
                  "last_seen"]].reset_index(drop=True)


def counts(table: pd.DataFrame) -> dict[str, int]:
    """Patterns per state (every state, zero when none) of a :func:`states` table."""
    return {s: int(n) for s, n in table["state"].astype("str").value_counts().reindex(list(STATES), fill_value=0).items()}


def trend(known: list[dict], start: pd.Timestamp, end: pd.Timestamp, open_now: int) -> list[dict]:
    """Open violations per report period, oldest first: the periods an earlier report knew that end
    by ``start``, then this one. Each earlier count is as its report saw it."""
    earlier = [p for p in known if pd.Timestamp(p["end"], tz="UTC") <= start]
    return sorted(earlier, key=lambda p: p["start"]) + [{"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}",
                                                         "open_violations": int(open_now)}]


def for_people(table: pd.DataFrame, customers: pd.DataFrame, policy) -> pd.DataFrame:
    """A :func:`states` table as a partner page shows it: the customer named, the rule with its clause kind."""
    from .summarise import customer_labels, rule_labels

    return table.assign(customer=table["customer_id"].map(customer_labels(customers)).fillna(table["customer_id"]),
                        rule=table["rule_id"].map(rule_labels(policy)).fillna(table["rule_id"]))[
        ["state", "pattern_id", "verdict", "rule", "sender_address", "customer", "topic", "product", "findings",
         "findings_before", "first_seen", "last_seen"]].rename(columns={"findings": "findings now", "findings_before": "findings before"})


@dataclass(frozen=True)
class PartnerHistory:
    """What a partner's page shows about time: the earlier report (folder and period, empty without
    ``--previous``), its patterns' states (``None`` when that report did not cover the partner)
    and the trend of open violations."""

    previous: str = ""
    previous_period: str = ""
    states: pd.DataFrame | None = None
    trend: list[dict] = field(default_factory=list)

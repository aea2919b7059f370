"""Per-partner summaries of a verdict frame: the figures the reports show, as pure functions.

Who answers for a row: every partner of record listed in its ``partner_ids`` and, for an
indirect reseller, its indirect provider (registry ``parent_partner_id``). So a provider's
report also covers its resellers' customers. Notebooks, charts, the runner and the tests
all read figures from here, so a number means the same everywhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from .decide import CASES, VERDICTS
from .errors import InputError
from .findings import awaiting_review, open_violations
from .policy import Policy
from .registry import Registry
from .review_decisions import REVIEW_COLUMNS

MONTH = "M"
WEEK = "W"


# ----------------------------------------------------------------------------- periods

@dataclass(frozen=True)
class Period:
    """A half-open UTC interval ``[start, end)`` of whole days."""

    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def of(cls, start: str | None, end: str | None, sent_at: pd.Series) -> "Period":
        """The period given as ``YYYY-MM-DD`` strings; an empty bound is the data's first day / the day after its last."""
        first = sent_at.min().floor("D") if len(sent_at) else pd.Timestamp.now(tz="UTC").floor("D")
        last = sent_at.max().floor("D") + pd.Timedelta(days=1) if len(sent_at) else first + pd.Timedelta(days=1)
        period = cls(_day(start, "start") if start else first, _day(end, "end") if end else last)
        if period.end <= period.start:
            raise InputError("(period)", f"end {period.end:%Y-%m-%d} is not after start {period.start:%Y-%m-%d}")
        return period

    def previous(self) -> "Period":
        """The period of equal length just before this one (for the change figure)."""
        return Period(self.start - (self.end - self.start), self.start)

    def mask(self, sent_at: pd.Series) -> pd.Series:
        return (sent_at >= self.start) & (sent_at < self.end)

    def freq(self) -> str:
        """Weeks for a short period, else months: enough buckets to see a trend, few enough to read."""
        return WEEK if (self.end - self.start) <= pd.Timedelta(days=92) else MONTH

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} to {self.end - pd.Timedelta(days=1):%Y-%m-%d}"


def _day(text: str, name: str) -> pd.Timestamp:
    day = pd.to_datetime(text, format="%Y-%m-%d", utc=True, errors="coerce")
    if pd.isna(day):
        raise InputError("(period)", f"{name} {text!r} is not a date (YYYY-MM-DD)")
    return day


def buckets(sent_at: pd.Series, freq: str) -> pd.Series:
    """Each time's week (Monday) or month start, as a naive UTC date for axis labels."""
    return sent_at.dt.tz_convert(None).dt.to_period(freq).dt.start_time


def bucket_range(period: Period, freq: str) -> pd.DatetimeIndex:
    """Every bucket the period touches, so empty weeks or months still show as zero."""
    last = period.end - pd.Timedelta(days=1)
    return pd.period_range(period.start.tz_convert(None), last.tz_convert(None), freq=freq).start_time


# ----------------------------------------------------------------------------- who answers for a row

def partner_members(registry: Registry) -> pd.DataFrame:
    """``partner_id, member_id``: each partner answers for itself and for its indirect resellers."""
    partners = registry.partners
    own = pd.DataFrame({"partner_id": partners["partner_id"], "member_id": partners["partner_id"]})
    resellers = partners.dropna(subset=["parent_partner_id"])
    children = pd.DataFrame({"partner_id": resellers["parent_partner_id"], "member_id": resellers["partner_id"]})
    return pd.concat([own, children], ignore_index=True).astype("str")


def row_partners(verdicts: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """``row, partner_id``: one pair per verdict row (by position) and partner answering for it."""
    listed = verdicts["partner_ids"].astype("str").str.split(";")
    listed.index = pd.RangeIndex(len(verdicts), name="row")
    pairs = listed.explode().dropna().rename("member_id").reset_index()
    return pairs.merge(partner_members(registry), on="member_id")[["row", "partner_id"]].drop_duplicates(ignore_index=True)


def assign_partners(verdicts: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """The verdict rows repeated once per partner answering for them, with a ``partner_id`` column."""
    pairs = row_partners(verdicts, registry)
    rows = verdicts.iloc[pairs["row"].to_numpy()].reset_index(drop=True)
    return rows.assign(partner_id=pairs["partner_id"].to_numpy())


def rows_by_partner(verdicts: pd.DataFrame, registry: Registry) -> dict[str, pd.DataFrame]:
    """Every partner's rows (as :func:`partner_rows`), split in one pass: the runner slices each report's input."""
    pairs = row_partners(verdicts, registry)
    positions = pairs.groupby("partner_id", observed=True)["row"].agg(sorted)
    empty = verdicts.iloc[:0]
    return {p: verdicts.iloc[positions[p]].reset_index(drop=True) if p in positions.index else empty
            for p in registry.partners["partner_id"]}


def partner_rows(verdicts: pd.DataFrame, registry: Registry, partner_id: str) -> pd.DataFrame:
    """The verdict rows a partner answers for (its customers' and its resellers' customers')."""
    partner_record(registry, partner_id)
    pairs = row_partners(verdicts, registry)
    rows = pairs.loc[pairs["partner_id"] == partner_id, "row"].to_numpy()
    return verdicts.iloc[sorted(rows)].reset_index(drop=True)


def partner_record(registry: Registry, partner_id: str) -> pd.Series:
    """The partner's registry row (``partner_id, partner_name, partner_type, ...``)."""
    found = registry.partners[registry.partners["partner_id"] == partner_id]
    if found.empty:
        raise InputError("(registry)", f"unknown partner {partner_id!r}")
    return found.iloc[0]


def resellers_of(registry: Registry, partner_id: str) -> pd.DataFrame:
    """``partner_id, partner_name`` of the indirect resellers whose customers a provider's report includes."""
    partners = registry.partners
    return partners.loc[partners["parent_partner_id"] == partner_id, ["partner_id", "partner_name"]].reset_index(drop=True)


# ----------------------------------------------------------------------------- headline figures

COUNT_COLUMNS = ("messages", "in_scope", "violations", "open_violations", "needs_review", "awaiting_review", "customers",
                 "customers_affected")
HEADLINE_COLUMNS = COUNT_COLUMNS + ("compliance_rate",)


def headlines(assigned: pd.DataFrame, by: str = "partner_id") -> pd.DataFrame:
    """Headline figures per group (partner) of an assigned verdict frame.

    ``messages``: rows (message × recipient) to the partner's customers; ``in_scope``: those
    not out of scope; ``compliance_rate``: share of in-scope rows that are not violations
    (NaN without in-scope rows; the machine's verdicts, whatever review decided);
    ``customers_affected``: customers with a violation; ``open_violations`` and
    ``awaiting_review``: what review has not dismissed or settled yet (:mod:`findings`).
    """
    verdict = assigned["verdict"].astype("str")
    flags = assigned[[by, "customer_id"]].assign(
        in_scope=verdict != "out_of_scope",
        violations=verdict == "violation",
        open_violations=open_violations(assigned),
        needs_review=verdict == "needs_review",
        awaiting_review=awaiting_review(assigned),
        affected=assigned["customer_id"].where(verdict == "violation"),
    )
    grouped = flags.groupby(by, observed=True)
    table = pd.DataFrame({
        "messages": grouped.size(),
        "in_scope": grouped["in_scope"].sum(),
        "violations": grouped["violations"].sum(),
        "open_violations": grouped["open_violations"].sum(),
        "needs_review": grouped["needs_review"].sum(),
        "awaiting_review": grouped["awaiting_review"].sum(),
        "customers": grouped["customer_id"].nunique(),
        "customers_affected": grouped["affected"].nunique(),
    })
    table["compliance_rate"] = 1 - table["violations"] / table["in_scope"].where(table["in_scope"] > 0)
    return table[list(HEADLINE_COLUMNS)]


def headline(rows: pd.DataFrame, period: Period) -> dict[str, int | float]:
    """One partner's headline for ``period``, with ``previous_messages``, ``previous_violations`` and
    ``change`` against the period before (``None`` when that period has no messages: nothing to compare)."""
    current = _one(rows[period.mask(rows["sent_at"])])
    before = _one(rows[period.previous().mask(rows["sent_at"])])
    change = current["violations"] - before["violations"] if before["messages"] else None
    return current | {"previous_messages": before["messages"], "previous_violations": before["violations"], "change": change}


def _one(rows: pd.DataFrame) -> dict[str, int | float]:
    row = _whole_counts(headlines(rows.assign(_all="all"), by="_all").reindex(["all"])).iloc[0]
    rate = row["compliance_rate"]
    return {c: int(row[c]) for c in COUNT_COLUMNS} | {"compliance_rate": None if pd.isna(rate) else float(rate)}


def _whole_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Counts of groups without rows are zero, not missing."""
    counts = list(COUNT_COLUMNS)
    return table.assign(**{c: table[c].fillna(0).astype("int64") for c in counts})


# ----------------------------------------------------------------------------- one partner's breakdowns

def violations(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["verdict"].astype("str") == "violation"]


def over_time(rows: pd.DataFrame, period: Period, by: str = "rule_id") -> pd.DataFrame:
    """Row counts per week or month (index, every bucket of the period) and value of ``by`` (columns)."""
    freq = period.freq()
    counts = pd.crosstab(buckets(rows["sent_at"], freq), rows[by].astype("str")) if len(rows) else pd.DataFrame()
    return counts.reindex(bucket_range(period, freq), fill_value=0).rename_axis(index="period", columns=by)


def counts_by(rows: pd.DataFrame, column: str) -> pd.Series:
    """Rows per value of ``column``, most first (ties by name, so the order is stable)."""
    counts = rows[column].astype("str").value_counts()
    return counts.rename_axis(column).sort_index().sort_values(ascending=False, kind="stable")


def customer_labels(customers: pd.DataFrame) -> pd.Series:
    """``name (id)`` per customer id: names are not unique, ids are not readable alone."""
    names = customers["customer_name"].fillna(customers["customer_id"])
    return pd.Series((names + " (" + customers["customer_id"] + ")").to_numpy(), index=customers["customer_id"].to_numpy())


def partner_labels(registry: Registry) -> pd.Series:
    """``name (id)`` per partner id."""
    partners = registry.partners
    names = partners["partner_name"].fillna(partners["partner_id"])
    return pd.Series((names + " (" + partners["partner_id"] + ")").to_numpy(), index=partners["partner_id"].to_numpy())


def customer_months(rows: pd.DataFrame, customers: pd.DataFrame, period: Period, top: int = 40) -> pd.DataFrame:
    """Violations per customer (rows, labelled ``name (id)``, most first, at most ``top``) and month (columns)."""
    month_range = bucket_range(period, MONTH)
    if not len(rows):
        return pd.DataFrame(columns=month_range)
    table = pd.crosstab(rows["customer_id"].astype("str"), buckets(rows["sent_at"], MONTH))
    table = table.reindex(columns=month_range, fill_value=0)
    table = table.loc[table.sum(axis=1).sort_values(ascending=False, kind="stable").index[:top]]
    return table.rename(index=customer_labels(customers)).rename_axis(index="customer", columns="month")


def exception_rules() -> tuple[str, ...]:
    """The rule ids of Microsoft's allowed cases: the policy's exceptions (CSP-COMM-3, CSP-COMM-4)."""
    return tuple(dict.fromkeys(c.rule_id for c in CASES if c.verdict == "allowed" and c.name != "partner_of_record"))


def exception_use(rows: pd.DataFrame) -> pd.Series:
    """How many allowed Microsoft messages each exception covered (zero when unused)."""
    allowed = rows[(rows["verdict"].astype("str") == "allowed") & (rows["sender_party"].astype("str") == "microsoft")]
    return allowed["rule_id"].astype("str").value_counts().reindex(list(exception_rules()), fill_value=0).rename_axis("rule_id")


FINDING_COLUMNS = (
    "message_id", "sent_at", "customer", "recipient_address", "sender_address", "subject", "topic", "product", "rule", "reason", "evidence",
)


def rule_labels(policy: Policy) -> dict[str, str]:
    """``CSP-COMM-2 (prohibition)`` per rule id: a code alone explains nothing to a reader."""
    return {rid: f"{rid} ({kind})" if kind else rid for rid, kind in
            ((rid, policy.clause_kinds.get(rid, "")) for rid in policy.clauses)}


def short_reasons(rows: pd.DataFrame, policy: Policy) -> pd.Series:
    """The reason without what other columns show: the quoted clause and the quoted evidence terms."""
    rules = "|".join(map(re.escape, policy.clauses))
    return (rows["reason"].astype("str")
            .str.replace(rf':\s*(?:{rules}) ".*"\s*$', "", regex=True)
            .str.replace(r'" \(subject\)', '"', regex=True)
            .str.replace(r' \((?:"[^"]*"(?:, )?)+\)| \((?:source|category) [^()]*\)', "", regex=True))


def findings(rows: pd.DataFrame, customers: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Rows as a table for people: the message to look up (id, subject), the customer named, the
    rule with its clause kind, a short reason and the classifier's evidence, then review decisions
    when the rows carry them; oldest first."""
    found = rows.reindex(columns=["topic_evidence", "product_evidence", "subject"]).astype("object")
    evidence = (found["topic_evidence"].fillna("").astype("str") + "; " + found["product_evidence"].fillna("").astype("str")).str.strip("; ")
    table = rows.assign(
        customer=rows["customer_id"].astype("str").map(customer_labels(customers)).fillna(rows["customer_id"]),
        subject=found["subject"],
        rule=rows["rule_id"].map(rule_labels(policy)).fillna(rows["rule_id"]),
        reason=short_reasons(rows, policy),
        evidence=evidence.where(evidence != ""),
    )
    shown = [*FINDING_COLUMNS, *(c for c in REVIEW_COLUMNS if c in rows)]
    return table.sort_values(["sent_at", "customer_id"], kind="stable")[shown].reset_index(drop=True)


def to_act_on(rows: pd.DataFrame, customers: pd.DataFrame, policy: Policy, top: int = 20) -> pd.DataFrame:
    """Violations per sender × customer × rule, most first: whom to escalate to, about which customer, why."""
    if rows.empty:
        return pd.DataFrame(columns=["sender_address", "customer", "rule", "violations", "first", "last"])
    keys = ["sender_address", "customer_id", "rule_id"]
    grouped = rows.assign(**{k: rows[k].astype("str") for k in keys}).groupby(keys, observed=True)["sent_at"]
    table = grouped.agg(violations="size", first="min", last="max").reset_index()
    table = table.sort_values(["violations", "last"], ascending=[False, False], kind="stable").head(top)
    return table.assign(customer=table["customer_id"].map(customer_labels(customers)).fillna(table["customer_id"]),
                        rule=table["rule_id"].map(rule_labels(policy)).fillna(table["rule_id"]))[
        ["sender_address", "customer", "rule", "violations", "first", "last"]].reset_index(drop=True)


# ----------------------------------------------------------------------------- all partners

def partner_table(verdicts: pd.DataFrame, registry: Registry, period: Period) -> pd.DataFrame:
    """Every registry partner with its headline for ``period``, ranked by violations then rate."""
    assigned = assign_partners(verdicts[period.mask(verdicts["sent_at"])], registry)
    partners = registry.partners.set_index("partner_id")[["partner_name", "partner_type"]]
    table = _whole_counts(partners.join(headlines(assigned)))
    table = table.sort_values(["violations", "compliance_rate"], ascending=[False, True], kind="stable")
    return table.assign(rank=range(1, len(table) + 1)).rename_axis("partner_id").reset_index()


def per_month(rows: pd.DataFrame, period: Period) -> pd.Series:
    """Rows per month of the period, each row once (all-partner totals: a reseller's row is not also its provider's)."""
    months = bucket_range(period, MONTH)
    return buckets(rows["sent_at"], MONTH).value_counts().reindex(months, fill_value=0).rename_axis("month")


def partner_breakdown(verdicts: pd.DataFrame, registry: Registry, period: Period, by: str) -> pd.DataFrame:
    """Violations per partner (rows) and ``by`` (columns): ``month``, ``rule_id`` or ``cloud``."""
    rows = violations(verdicts[period.mask(verdicts["sent_at"])])
    assigned = assign_partners(rows, registry)
    if by == "month":
        key = buckets(assigned["sent_at"], MONTH)
        columns = bucket_range(period, MONTH)
    elif by == "cloud":
        key = assigned["customer_id"].map(registry.customers.set_index("customer_id")["cloud"])
        columns = list(registry.customers["cloud"].drop_duplicates().sort_values())
    else:
        key = assigned[by].astype("str")
        columns = sorted(key.unique())
    table = pd.crosstab(assigned["partner_id"], key) if len(assigned) else pd.DataFrame()
    return table.reindex(index=registry.partners["partner_id"], columns=columns, fill_value=0).rename_axis(index="partner_id", columns=by)

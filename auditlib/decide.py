"""Decide each row's verdict, exactly per SPEC §4, with the reason that decided it.

Each row falls in the first *case* whose condition holds, in SPEC order. A case fixes
the verdict and rule id; severity follows from the topic for violations. The reason
is the case's template filled with the row's facts; it is rendered once per distinct
combination of the facts it names, so its cost follows the variety of the log, not
its length.
"""
from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .frames import distinct_rows, per_distinct
from .policy import Policy
from .resolve import product_bits

VERDICTS = ("allowed", "violation", "needs_review", "out_of_scope")
TOPIC_RULE = "by topic"  # CSP-COMM-2 for subscription, CSP-COMM-1 for marketing (SPEC §4 step 8)

# Phrases derived from facts when a reason is rendered (see _phrases), and the facts they need.
PHRASE_SOURCES = {
    "topic_phrase": ("topic", "topic_evidence"),
    "product_phrase": ("product", "product_evidence"),
    "citation": ("rule_id",),
    "topic_doubt": ("topic_evidence",),
}

_MS = "Microsoft ({sender_address}) sent {topic_phrase}"
_CSP = "customer {customer_id}, which holds CSP agreements with {partner_ids} since {since}"


@dataclass(frozen=True)
class Case:
    name: str
    verdict: str
    rule_id: str | None
    reason: str  # str.format template over the facts of _facts() and _phrases()

    @property
    def facts(self) -> list[str]:
        """The facts its reason needs: the template's fields, derived phrases replaced by their sources."""
        fields = {f for _, f, _, _ in string.Formatter().parse(self.reason) if f}
        return sorted(set().union(*(PHRASE_SOURCES.get(f, (f,)) for f in fields)))


CASES: tuple[Case, ...] = (
    Case("no_customer", "out_of_scope", None,
         "No customer matches recipient {recipient_address} (no customer_id, and its domain is in no "
         "customer's domains): the CSP policy does not apply."),
    Case("not_csp", "out_of_scope", None,
         "Customer {customer_id} had no csp agreement in force on {day}: the CSP policy does not apply."),
    Case("partner_of_record", "allowed", "CSP-COMM-1",
         "Sent by {sender_partner} ({sender_address}), partner of record (or its indirect provider) for customer "
         "{customer_id} (CSP partners in force: {partner_ids}): {citation}"),
    Case("other_partner", "needs_review", "CSP-COMM-1",
         "Sent by partner {sender_partner} ({sender_address}), which is not of record for customer {customer_id} "
         "(CSP partners in force: {partner_ids}): {citation}"),
    Case("spoofed_microsoft", "out_of_scope", None,
         "Sender {sender_address} uses a Microsoft domain but failed authentication (sender_authenticated is false): "
         "a possible spoof, not Microsoft; the policy does not cover it."),
    Case("unknown_sender", "out_of_scope", None,
         "Sender {sender_address} is neither Microsoft nor a known partner: the policy does not cover it."),
    Case("microsoft_operational", "allowed", "CSP-COMM-3", _MS + " to customer {customer_id}: {citation}"),
    Case("microsoft_unknown_topic", "needs_review", None,
         "Microsoft ({sender_address}) wrote to CSP customer {customer_id}, but the topic could not be told from "
         "the source, category or text{topic_doubt}; a reviewer must decide which clause applies."),
    Case("direct_product", "allowed", "CSP-COMM-4",
         _MS + " about {product_phrase}, which customer {customer_id} holds through a direct agreement and not "
         "through CSP: {citation}"),
    Case("product_in_both", "needs_review", None,
         _MS + " about {product_phrase}, which customer {customer_id} holds both directly and through CSP partner "
         "{partner_ids}; it is unclear which relationship the message concerns."),
    Case("product_not_direct", "violation", TOPIC_RULE,
         _MS + " about {product_phrase} to " + _CSP + ", and does not hold {product} through any direct "
         "agreement: {citation}"),
    Case("unknown_product_with_direct", "needs_review", None,
         _MS + " whose product could not be told to " + _CSP + " and also has direct agreements; a reviewer must "
         "decide whether it concerns a non-CSP product."),
    Case("unknown_product_no_direct", "violation", TOPIC_RULE,
         _MS + " whose product could not be told to " + _CSP + " and no direct agreement in force: {citation}"),
)


def case_of(frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    """The index into CASES of each row: the first condition that holds, in SPEC §4 order."""
    party, topic = frame["sender_party"].astype("str"), frame["topic"].astype("str")
    bit = frame["product"].astype("str").map(product_bits(policy)).fillna(0).astype("int64").to_numpy()
    in_csp = (frame["csp_mask"].to_numpy() & bit) != 0
    in_direct = (frame["direct_mask"].to_numpy() & bit) != 0
    known = bit != 0
    conditions = {
        "no_customer": frame["customer_id"].isna().to_numpy(),
        "not_csp": frame["partner_ids"].isna().to_numpy(),
        "partner_of_record": (party == "partner_of_record").to_numpy(),
        "other_partner": (party == "other_partner").to_numpy(),
        "spoofed_microsoft": frame["spoofed"].to_numpy(dtype=bool) if "spoofed" in frame else np.zeros(len(frame), bool),
        "unknown_sender": (party != "microsoft").to_numpy(),
        "microsoft_operational": (topic == "operational").to_numpy(),
        "microsoft_unknown_topic": (topic == "unknown").to_numpy(),
        "direct_product": known & in_direct & ~in_csp,
        "product_in_both": known & in_direct & in_csp,
        "product_not_direct": known,
        "unknown_product_with_direct": frame["direct_mask"].to_numpy() != 0,
        "unknown_product_no_direct": np.ones(len(frame), dtype=bool),
    }
    return np.select([conditions[c.name] for c in CASES], np.arange(len(CASES)))


def rule_ids(case: np.ndarray, topic: pd.Series) -> np.ndarray:
    """Each row's rule id: its case's, or for violations the one its topic calls for."""
    rule = np.array([c.rule_id for c in CASES], dtype=object)[case]
    by_topic = np.where(topic.astype("str").to_numpy() == "subscription", "CSP-COMM-2", "CSP-COMM-1")
    return np.where(rule == TOPIC_RULE, by_topic, rule)


def decide(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Add ``verdict, rule_id, severity, reason, policy_version`` to a resolved, classified frame."""
    case = case_of(frame, policy)
    verdict = np.array([c.verdict for c in CASES], dtype=object)[case]
    rule = rule_ids(case, frame["topic"])
    severity = frame["topic"].astype("str").map(dict(policy.severity)).fillna("").to_numpy(dtype=object)
    return frame.assign(
        verdict=pd.Categorical(verdict, categories=VERDICTS),
        rule_id=pd.array(rule, dtype="string"),
        severity=np.where(verdict == "violation", severity, ""),
        reason=reasons(frame, case, rule, policy),
        policy_version=policy.version,
    )


def reasons(frame: pd.DataFrame, case: np.ndarray, rule: np.ndarray, policy: Policy) -> pd.Series:
    """Each row's reason sentence (a categorical): its case's template over its facts, quoting its clause."""
    day = lambda times: times.dt.strftime("%Y-%m-%d")
    facts = frame.assign(day=per_distinct(frame["sent_at"].dt.floor("D"), day),
                         since=per_distinct(frame["csp_since"], day), rule_id=rule)
    facts = facts[sorted({f for c in CASES for f in c.facts})]
    facts = facts.astype({c: "category" for c in facts.columns if not isinstance(facts[c].dtype, pd.CategoricalDtype)})
    texts: list[str] = []
    codes = np.full(len(frame), -1, dtype="int64")
    for number, c in enumerate(CASES):
        rows = np.flatnonzero(case == number)
        if len(rows):
            group, distinct = distinct_rows(facts.iloc[rows], c.facts)
            codes[rows] = group + len(texts)
            records = distinct.astype(object).fillna("").to_dict("records")
            texts += [c.reason.format(**record, **_phrases(record, policy)) for record in records]
    text_codes, categories = pd.factorize(pd.Index(texts, dtype="str"))
    return pd.Series(pd.Categorical.from_codes(text_codes[codes], categories=categories), index=frame.index)


def _phrases(record: dict, policy: Policy) -> dict:
    """The phrases a template may use, built from a record's topic, product, evidence and rule."""
    topic, rule = record.get("topic", ""), record.get("rule_id", "")
    return {
        "topic_phrase": f"{'an' if topic[:1] in 'aeiou' and topic else 'a'} {topic} message" + _quoted(record.get("topic_evidence", "")),
        "product_phrase": record.get("product", "") + _quoted(record.get("product_evidence", "")),
        "citation": f'{rule} "{policy.clauses[rule]}"' if rule in policy.clauses else "",
        "topic_doubt": _quoted(record.get("topic_evidence", "")),
    }


def _quoted(evidence: str) -> str:
    return f" ({evidence})" if evidence else ""

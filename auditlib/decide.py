"""Decide each row's verdict, exactly per SPEC §4, with the reason that decided it.

Each row falls in the first *case* whose condition holds, in SPEC order. A case fixes
the verdict and rule id; severity follows from the topic for violations. The reason
is the case's template filled with the row's facts. Each fact is factorised once (a
code per row into its distinct texts); a case's rows are grouped by their facts' codes
with integer arithmetic, and its template is filled for all its groups at once by Arrow
string kernels, so no Python runs per row or per combination of facts.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .frames import combine_codes, first_rows, lookup, per_distinct
from .policy import Policy
from .resolve import product_bits

VERDICTS = ("allowed", "violation", "needs_review", "out_of_scope")
TOPIC_RULE = "by topic"  # a violation's rule by its topic (SPEC §4 step 8): TOPIC_RULES
TOPIC_RULES = {"subscription": "CSP-COMM-2", "marketing": "CSP-COMM-1"}  # any other topic: marketing's

Texts = dict[str, pa.Array]  # fact -> its text in each group of rows (missing: empty)


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _quoted(evidence: pa.Array) -> pa.Array:
    """`` (evidence)``, or nothing when there is none."""
    return pc.if_else(pc.equal(evidence, ""), "", _join(" (", evidence, ")"))


def _topic_phrase(facts: Texts, policy: Policy) -> pa.Array:
    topic = facts["topic"]
    article = pc.if_else(pc.match_substring_regex(topic, "^[aeiou]"), "an ", "a ")
    return _join(article, topic, " message", _quoted(facts["topic_evidence"]))


def _citation(facts: Texts, policy: Policy) -> pa.Array:
    """The rule id and its clause in quotes; nothing for a rule the policy does not know (none)."""
    rules = list(policy.clauses)
    quoted = pa.array([f'{rule} "{policy.clauses[rule]}"' for rule in rules] + [""], pa.string())
    return pc.take(quoted, pc.fill_null(pc.index_in(facts["rule_id"], pa.array(rules, pa.string())), len(rules)))


# Phrases derived from facts when a reason is rendered: the facts each needs, and how it is made.
PHRASES: dict[str, tuple[tuple[str, ...], Callable[[Texts, Policy], pa.Array]]] = {
    "topic_phrase": (("topic", "topic_evidence"), _topic_phrase),
    "product_phrase": (("product", "product_evidence"), lambda f, _: _join(f["product"], _quoted(f["product_evidence"]))),
    "citation": (("rule_id",), _citation),
    "topic_doubt": (("topic_evidence",), lambda f, _: _quoted(f["topic_evidence"])),
}

_MS = "Microsoft ({sender_address}) sent {topic_phrase}"
_CSP = "customer {customer_id}, which holds CSP agreements with {partner_ids} since {since}"


@dataclass(frozen=True)
class Case:
    name: str
    verdict: str
    rule_id: str | None
    reason: str  # str.format template over the facts of reasons() and the PHRASES

    @property
    def facts(self) -> list[str]:
        """The facts its reason needs: the template's fields, derived phrases replaced by their sources."""
        fields = {f for _, f, _, _ in string.Formatter().parse(self.reason) if f}
        return sorted(set().union(*(PHRASES[f][0] if f in PHRASES else (f,) for f in fields)))

    def render(self, facts: Texts, policy: Policy) -> pa.Array:
        """The reason of each group of rows whose facts' texts are ``facts``."""
        parts = []
        for literal, field, _, _ in string.Formatter().parse(self.reason):
            parts += [literal] if literal else []
            parts += [PHRASES[field][1](facts, policy) if field in PHRASES else facts[field]] if field else []
        return _join(*parts)


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
    party, topic = frame["sender_party"], frame["topic"]
    bit = lookup(frame["product"], product_bits(policy), 0).astype("int64")
    in_csp = (frame["csp_mask"].to_numpy() & bit) != 0
    in_direct = (frame["direct_mask"].to_numpy() & bit) != 0
    known = bit != 0
    conditions = {
        "no_customer": frame["customer_id"].isna().to_numpy(),
        "not_csp": frame["partner_ids"].isna().to_numpy(),
        "partner_of_record": party.eq("partner_of_record").to_numpy(bool),
        "other_partner": party.eq("other_partner").to_numpy(bool),
        "spoofed_microsoft": frame["spoofed"].to_numpy(dtype=bool) if "spoofed" in frame else np.zeros(len(frame), bool),
        "unknown_sender": ~party.eq("microsoft").to_numpy(bool),
        "microsoft_operational": topic.eq("operational").to_numpy(bool),
        "microsoft_unknown_topic": topic.eq("unknown").to_numpy(bool),
        "direct_product": known & in_direct & ~in_csp,
        "product_in_both": known & in_direct & in_csp,
        "product_not_direct": known,
        "unknown_product_with_direct": frame["direct_mask"].to_numpy() != 0,
        "unknown_product_no_direct": np.ones(len(frame), dtype=bool),
    }
    return np.select([conditions[c.name] for c in CASES], np.arange(len(CASES)))


# every rule id a case can give: its own, or one a topic calls for
RULE_IDS = tuple(sorted({c.rule_id for c in CASES if c.rule_id not in (None, TOPIC_RULE)} | set(TOPIC_RULES.values())))
# per case, derived once: its verdict and rule id as codes (-1: no rule), and whether its topic names the rule
_CASE_VERDICT = np.array([VERDICTS.index(c.verdict) for c in CASES], dtype="int8")
_CASE_RULE = np.array([RULE_IDS.index(c.rule_id) if c.rule_id in RULE_IDS else -1 for c in CASES])
_CASE_BY_TOPIC = np.array([c.rule_id == TOPIC_RULE for c in CASES])


def rule_ids(case: np.ndarray, topic: pd.Series) -> pd.Categorical:
    """Each row's rule id (missing: none): its case's, or for violations the one its topic calls for."""
    by_topic = np.where(topic.eq("subscription").to_numpy(bool), RULE_IDS.index(TOPIC_RULES["subscription"]),
                        RULE_IDS.index(TOPIC_RULES["marketing"]))
    return pd.Categorical.from_codes(np.where(_CASE_BY_TOPIC[case], by_topic, _CASE_RULE[case]), categories=RULE_IDS)


def decide(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Add ``verdict, rule_id, severity, reason, policy_version`` to a resolved, classified frame."""
    case = case_of(frame, policy)
    verdict = _CASE_VERDICT[case]
    rule = rule_ids(case, frame["topic"])
    severity = lookup(frame["topic"], dict(policy.severity), "")
    return frame.assign(
        verdict=pd.Categorical.from_codes(verdict, dtype=pd.CategoricalDtype(VERDICTS), validate=False),
        # the ids' texts taken by Arrow: no Python object per row
        rule_id=pd.array(pc.take(pa.array(RULE_IDS), pa.array(rule.codes, mask=rule.codes < 0)), dtype="string"),
        severity=np.where(verdict == VERDICTS.index("violation"), severity, ""),
        reason=reasons(frame, case, rule, policy),
        policy_version=policy.version,
    )


def reasons(frame: pd.DataFrame, case: np.ndarray, rule: pd.Categorical, policy: Policy) -> pd.Series:
    """Each row's reason sentence (a categorical): its case's template over its facts, quoting its clause.

    Rendered once per distinct combination of the facts a case names, by Arrow kernels.
    """
    day = lambda times: times.dt.strftime("%Y-%m-%d")
    facts = frame.assign(day=per_distinct(frame["sent_at"].dt.floor("D"), day),
                         since=per_distinct(frame["csp_since"], day), rule_id=rule)
    coded = {f: fact_codes(facts[f]) for f in sorted({f for c in CASES for f in c.facts})}
    rendered: list[pa.Array] = []
    codes = np.full(len(frame), -1, dtype="int64")
    offset = 0
    for number, c in enumerate(CASES):
        rows = np.flatnonzero(case == number)
        if len(rows):
            group = combine_codes([coded[f][0][rows] for f in c.facts])
            first = rows[first_rows(group)]
            rendered.append(c.render({f: pc.take(coded[f][1], coded[f][0][first]) for f in c.facts}, policy))
            codes[rows] = group + offset
            offset += len(first)
    # categories straight from Arrow (no Python strings); every code indexes them by construction
    categories = pd.Index(pa.chunked_array(rendered, pa.string()).combine_chunks().to_pandas(), dtype="str")
    if not categories.is_unique:  # two groups whose facts print alike (a missing fact prints as an empty one)
        text_codes, categories = pd.factorize(categories)
        codes = text_codes[codes]
    # the uniqueness just found is cached on the index: the dtype does not hash every reason again
    reason = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories), validate=False)
    return pd.Series(reason, index=frame.index)


def fact_codes(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """``(codes, texts)``: each row's index into the fact's distinct texts; a missing fact is the
    empty text, as a reason prints it."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values)
    texts = pa.array(pd.Index(uniques).astype("str").tolist() + [""], pa.string())
    return np.where(codes < 0, len(uniques), codes), texts

"""Decide each row's verdict, exactly per SPEC §4, with the reason that decided it.

Each row falls in the first *case* whose condition holds, in SPEC order. A case fixes
the verdict and rule id; severity follows from the topic for violations. The reason
sentence is filled in per case from the row's facts and quotes the clause it cites.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .policy import Policy
from .resolve import product_bits

VERDICTS = ("allowed", "violation", "needs_review", "out_of_scope")

Text = pd.Series  # str Series aligned with the rows of one case


@dataclass(frozen=True)
class Case:
    name: str
    verdict: str
    rule_id: str | None  # None: no rule; "topic": CSP-COMM-2 for subscription, CSP-COMM-1 for marketing
    reason: Callable[[pd.DataFrame], Text]


def _ms(f: pd.DataFrame) -> Text:
    article = np.where(f["topic"].str[:1].isin(list("aeiou")), " sent an ", " sent a ")
    return "Microsoft (" + f["sender_address"] + ")" + article + f["topic"] + " message"


def _about(f: pd.DataFrame) -> Text:
    return _ms(f) + " about " + f["product"] + " (" + f["product_evidence"] + ")"


def _csp(f: pd.DataFrame) -> Text:
    return "customer " + f["customer_id"] + ", which holds CSP agreements with " + f["partner_ids"] + " since " + f["since"]


CASES: tuple[Case, ...] = (
    Case("no_customer", "out_of_scope", None, lambda f: (
        "No customer matches recipient " + f["recipient_address"]
        + " (no customer_id, and its domain is in no customer's domains): the CSP policy does not apply.")),
    Case("not_csp", "out_of_scope", None, lambda f: (
        "Customer " + f["customer_id"] + " had no csp agreement in force on " + f["day"]
        + ": the CSP policy does not apply.")),
    Case("partner_of_record", "allowed", "CSP-COMM-1", lambda f: (
        "Sent by " + f["sender_partner"] + " (" + f["sender_address"] + "), partner of record (or its indirect provider) for customer "
        + f["customer_id"] + " (CSP partners in force: " + f["partner_ids"] + "): ")),
    Case("other_partner", "needs_review", "CSP-COMM-1", lambda f: (
        "Sent by partner " + f["sender_partner"] + " (" + f["sender_address"] + "), which is not of record for customer "
        + f["customer_id"] + " (CSP partners in force: " + f["partner_ids"] + "): ")),
    Case("unknown_sender", "out_of_scope", None, lambda f: (
        "Sender " + f["sender_address"] + " is neither Microsoft nor a known partner: the policy does not cover it.")),
    Case("microsoft_operational", "allowed", "CSP-COMM-3", lambda f: (
        _ms(f) + " (" + f["topic_evidence"] + ") to " + "customer " + f["customer_id"] + ": ")),
    Case("microsoft_unknown_topic", "needs_review", None, lambda f: (
        "Microsoft (" + f["sender_address"] + ") wrote to CSP customer " + f["customer_id"]
        + ", but the topic could not be told from the source, category or text; a reviewer must decide which clause applies.")),
    Case("direct_product", "allowed", "CSP-COMM-4", lambda f: (
        _about(f) + ", which customer " + f["customer_id"] + " holds through a direct agreement and not through CSP: ")),
    Case("product_in_both", "needs_review", None, lambda f: (
        _about(f) + ", which customer " + f["customer_id"] + " holds both directly and through CSP partner "
        + f["partner_ids"] + "; it is unclear which relationship the message concerns.")),
    Case("product_not_direct", "violation", "topic", lambda f: (
        _about(f) + " to " + _csp(f) + ", and does not hold " + f["product"] + " through any direct agreement: ")),
    Case("unknown_product_with_direct", "needs_review", None, lambda f: (
        _ms(f) + " whose product could not be told to " + _csp(f)
        + " and also has direct agreements; a reviewer must decide whether it concerns a non-CSP product.")),
    Case("unknown_product_no_direct", "violation", "topic", lambda f: (
        _ms(f) + " whose product could not be told to " + _csp(f) + " and no direct agreement in force: ")),
)


def case_of(frame: pd.DataFrame, policy: Policy) -> np.ndarray:
    """The index into CASES of each row: the first condition that holds, in SPEC §4 order."""
    party, topic = frame["sender_party"].astype("str"), frame["topic"].astype("str")
    bit = frame["product"].astype("str").map(product_bits(policy)).fillna(0).astype("int64").to_numpy()
    in_csp = (frame["csp_mask"].to_numpy() & bit) != 0
    in_direct = (frame["direct_mask"].to_numpy() & bit) != 0
    has_direct = frame["direct_mask"].to_numpy() != 0
    known = bit != 0
    conditions = {
        "no_customer": frame["customer_id"].isna().to_numpy(),
        "not_csp": frame["partner_ids"].isna().to_numpy(),
        "partner_of_record": (party == "partner_of_record").to_numpy(),
        "other_partner": (party == "other_partner").to_numpy(),
        "unknown_sender": (party != "microsoft").to_numpy(),
        "microsoft_operational": (topic == "operational").to_numpy(),
        "microsoft_unknown_topic": (topic == "unknown").to_numpy(),
        "direct_product": known & in_direct & ~in_csp,
        "product_in_both": known & in_direct & in_csp,
        "product_not_direct": known,
        "unknown_product_with_direct": has_direct,
        "unknown_product_no_direct": np.ones(len(frame), dtype=bool),
    }
    return np.select([conditions[c.name] for c in CASES], np.arange(len(CASES)))


def decide(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Add ``verdict, rule_id, severity, reason, policy_version`` to a resolved, classified frame."""
    case = case_of(frame, policy)
    table = pd.DataFrame([(c.verdict, c.rule_id) for c in CASES], columns=["verdict", "rule_id"])
    verdict = table["verdict"].to_numpy()[case]
    rule = table["rule_id"].to_numpy(dtype=object)[case]
    topic = frame["topic"].astype("str").to_numpy(dtype=object)
    by_topic = rule == "topic"
    rule = np.where(by_topic, np.where(topic == "subscription", "CSP-COMM-2", "CSP-COMM-1"), rule)
    severity = np.where(verdict == "violation", pd.Series(topic).map(policy.severity).fillna("").to_numpy(dtype=object), "")
    return frame.assign(
        verdict=pd.Categorical(verdict, categories=VERDICTS),
        rule_id=pd.array(rule, dtype="string"),
        severity=severity,
        reason=_reasons(frame, case, rule, policy),
        policy_version=policy.version,
    )


def _reasons(frame: pd.DataFrame, case: np.ndarray, rule: np.ndarray, policy: Policy) -> pd.Series:
    facts = pd.DataFrame(
        {
            column: frame[column].astype("str").fillna("")
            for column in ("recipient_address", "sender_address", "customer_id", "partner_ids", "sender_partner",
                           "topic", "product", "topic_evidence", "product_evidence")
        },
        index=frame.index,
    )
    facts["day"] = frame["sent_at"].dt.strftime("%Y-%m-%d")
    facts["since"] = frame["csp_since"].dt.strftime("%Y-%m-%d").fillna("")
    citation = pd.Series(rule, index=frame.index).map({r: f'{r} "{text}"' for r, text in policy.clauses.items()}).fillna("")
    reason = pd.Series("", index=frame.index, dtype="str")
    for number, c in enumerate(CASES):
        rows = case == number
        if rows.any():
            text = c.reason(facts[rows])
            reason[rows] = np.where(text.str.endswith(": "), text + citation[rows], text)
    return reason

"""Every branch of SPEC §4, on hand-written rows whose verdicts were worked out from the SPEC.

The registry is tests/fixtures/registry. In short:
  C-CSP    csp P-RES (reseller of P-PROV) for microsoft-365;azure since 2025-01-01; nothing direct
  C-DUAL   csp P-DIR for microsoft-365 since 2025-01-01; ea azure since 2023; mca microsoft-365 since 2025-06-01
  C-MOVE   ea * 2023-01-01 .. 2025-03-01, then csp P-DIR *
  C-SWITCH csp P-DIR * 2024-01-01 .. 2025-01-01, then csp P-OTHER *
  C-DIRECT mca * only;  C-ID csp P-OTHER *, no domains
"""
from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from auditlib.findings import FINDING_COLUMNS
from auditlib import VERDICT_COLUMNS
from auditlib.policy import DEFAULT_POLICY_PATH

# (what, row, verdict, rule_id, severity)
CASES = [
    # step 1: no customer
    ("unknown recipient domain", dict(recipient_address="a@nowhere.example", subject="Your invoice is ready"),
     "out_of_scope", None, None),
    # step 2: no csp agreement in force
    ("customer with direct agreements only", dict(recipient_address="a@direct.example", subject="Your invoice is ready"),
     "out_of_scope", None, None),
    # step 3: partner of record, its parent provider, a subdomain of its sender domain
    ("reseller of record", dict(sender_address="news@reseller.example", subject="Your invoice is ready"),
     "allowed", "CSP-COMM-1", None),
    ("parent provider of the reseller of record", dict(sender_address="ops@provider.example", subject="Hello"),
     "allowed", "CSP-COMM-1", None),
    ("subdomain of the partner's domain", dict(sender_address="x@mail.reseller.example", subject="Renewal"),
     "allowed", "CSP-COMM-1", None),
    # step 4: another known partner
    ("partner not of record", dict(sender_address="sales@directbill.example", subject="Your invoice is ready"),
     "needs_review", "CSP-COMM-1", None),
    # step 5: neither Microsoft nor a partner
    ("unrelated sender", dict(sender_address="someone@gmail.example", subject="Your invoice is ready"),
     "out_of_scope", None, None),
    ("look-alike: microsoft.com as a label of another domain",
     dict(sender_address="billing@microsoft.com.evil.example", subject="Your invoice is ready"), "out_of_scope", None, None),
    ("look-alike: notmicrosoft.com", dict(sender_address="billing@notmicrosoft.com", subject="Your invoice is ready"),
     "out_of_scope", None, None),
    ("look-alike: microsoft-billing.example", dict(sender_address="billing@microsoft-billing.example", subject="Your invoice is ready"),
     "out_of_scope", None, None),
    # step 5: a Microsoft From address that failed authentication is not Microsoft (a possible spoof)
    ("Microsoft address that failed authentication", dict(subject="Your invoice is ready", sender_authenticated="false"),
     "out_of_scope", None, None),
    ("failed authentication, written in capitals", dict(subject="Your invoice is ready", sender_authenticated="FALSE"),
     "out_of_scope", None, None),
    # ...while a verified or unknown authentication changes nothing (C-CSP: csp only, subscription -> violation)
    ("Microsoft address that passed authentication", dict(subject="Your invoice is ready", sender_authenticated="true"),
     "violation", "CSP-COMM-2", "high"),
    ("authentication unknown", dict(subject="Your invoice is ready", sender_authenticated=""), "violation", "CSP-COMM-2", "high"),
    ("a partner's address that failed authentication stays the partner's (SPEC speaks of Microsoft only)",
     dict(sender_address="news@reseller.example", subject="Your invoice is ready", sender_authenticated="false"),
     "allowed", "CSP-COMM-1", None),
    # step 6: Microsoft, operational
    ("service incident", dict(subject="Service incident: users may be unable to sign in to Exchange Online"),
     "allowed", "CSP-COMM-3", None),
    ("source service_health overrides a billing subject", dict(subject="Billing update", source="service_health"),
     "allowed", "CSP-COMM-3", None),
    ("Graph category overrides the text", dict(subject="Your invoice is ready", category="planForChange"),
     "allowed", "CSP-COMM-3", None),
    ("Microsoft subdomain", dict(sender_address="noreply@email.microsoft.com", subject="Planned maintenance for Azure"),
     "allowed", "CSP-COMM-3", None),
    # step 7: Microsoft, unknown topic
    ("topic cannot be told", dict(subject="Hello"), "needs_review", None, None),
    # step 8, product known
    ("direct-only product (azure at C-DUAL)",
     dict(recipient_address="it@dual.example", subject="Your Azure invoice is ready", sent_at="2025-03-01T00:00:00Z"),
     "allowed", "CSP-COMM-4", None),
    ("product in both CSP and direct (microsoft-365 at C-DUAL after 2025-06-01)",
     dict(recipient_address="it@dual.example", subject="Your invoice is ready", product="microsoft-365", sent_at="2025-07-01T00:00:00Z"),
     "needs_review", None, None),
    ("CSP-only product, subscription", dict(subject="Your Microsoft 365 invoice is ready"),
     "violation", "CSP-COMM-2", "high"),
    ("product in neither, marketing", dict(subject="Register for our Dynamics 365 webinar", category="marketing"),
     "violation", "CSP-COMM-1", "medium"),
    ("category names the topic", dict(subject="Hello", category="subscription", product="azure"),
     "violation", "CSP-COMM-2", "high"),
    # step 8, product unknown
    ("unknown product, customer also buys directly",
     dict(recipient_address="it@dual-corp.example", subject="Your invoice is ready", sent_at="2025-03-01T00:00:00Z"),
     "needs_review", None, None),
    ("unknown product, nothing direct, marketing", dict(subject="Register for Microsoft Ignite", category="marketing"),
     "violation", "CSP-COMM-1", "medium"),
    ("unknown product, nothing direct, Chinese subscription subject", dict(subject="您的订阅即将到期"),
     "violation", "CSP-COMM-2", "high"),
    ("Chinese operational subject", dict(subject="服务中断：部分用户无法访问邮箱"), "allowed", "CSP-COMM-3", None),
    # customer resolution
    ("filled customer_id resolves a recipient of unknown domain",
     dict(recipient_address="x@unlisted.example", customer_id="C-ID", subject="Your invoice is ready"),
     "violation", "CSP-COMM-2", "high"),
    ("filled customer_id wins over the recipient's domain",
     dict(recipient_address="x@csp.example", customer_id="C-DIRECT", subject="Your invoice is ready"),
     "out_of_scope", None, None),
    ("addresses compare case-insensitively",
     dict(sender_address="Billing@MICROSOFT.COM", recipient_address="Admin@Sub.CSP.Example", subject="Your invoice is ready"),
     "violation", "CSP-COMM-2", "high"),
]


@pytest.mark.parametrize("what,row,verdict,rule,severity", CASES, ids=[c[0] for c in CASES])
def test_decision(audit_rows, what, row, verdict, rule, severity):
    out = audit_rows(row).iloc[0]
    assert out["verdict"] == verdict
    assert (None if pd.isna(out["rule_id"]) else out["rule_id"]) == rule
    assert (out["severity"] or None) == severity


def test_output_has_the_spec_columns_in_order_and_one_row_per_input(audit_rows):
    rows = [c[1] for c in CASES]
    out = audit_rows(*rows)
    assert tuple(out.columns) == VERDICT_COLUMNS + FINDING_COLUMNS
    assert list(out["message_id"]) == [f"m{i}" for i in range(len(rows))]
    with DEFAULT_POLICY_PATH.open("rb") as fh:
        assert set(out["policy_version"]) == {tomllib.load(fh)["version"]}


def test_sender_party_and_partners_of_record(audit_rows):
    out = audit_rows(
        dict(sender_address="a@reseller.example"),
        dict(sender_address="a@provider.example"),
        dict(sender_address="a@other-mail.example"),
        dict(sender_address="a@microsoft.us"),
        dict(sender_address="a@example.org"),
    )
    assert list(out["sender_party"]) == ["partner_of_record", "partner_of_record", "other_partner", "microsoft", "unknown"]
    assert set(out["partner_ids"]) == {"P-RES"}
    assert set(out["customer_id"]) == {"C-CSP"}


def test_reason_names_clause_and_facts(audit_rows):
    out = audit_rows(dict(subject="Your Microsoft 365 invoice is ready")).iloc[0]
    assert "CSP-COMM-2" in out["reason"]
    assert "Microsoft will not send communications directly" in out["reason"]
    for fact in ("billing@microsoft.com", "microsoft-365", "C-CSP", "P-RES", "2025-01-01", "invoice"):
        assert fact in out["reason"]


def test_a_possible_spoof_is_said_so_and_is_not_microsoft(audit_rows):
    out = audit_rows(dict(subject="Your invoice is ready", sender_authenticated="false")).iloc[0]
    assert out["sender_party"] == "unknown"
    assert "failed authentication" in out["reason"] and "spoof" in out["reason"]


def test_out_of_scope_and_needs_review_reasons_say_what_is_missing(audit_rows):
    out = audit_rows(dict(subject="Hello"), dict(recipient_address="a@direct.example"))
    assert "topic could not be told" in out["reason"][0]
    assert "no csp agreement in force" in out["reason"][1]


class TestTimeBoundaries:
    """C-SWITCH changes partner at 2025-01-01 00:00 UTC; C-MOVE enters CSP then (end date exclusive)."""

    def test_end_date_is_exclusive_and_start_inclusive(self, audit_rows):
        out = audit_rows(
            dict(recipient_address="a@switch.example", sender_address="x@directbill.example", sent_at="2024-12-31T23:59:59Z"),
            dict(recipient_address="a@switch.example", sender_address="x@directbill.example", sent_at="2025-01-01T00:00:00Z"),
        )
        assert list(out["verdict"]) == ["allowed", "needs_review"]
        assert list(out["partner_ids"]) == ["P-DIR", "P-OTHER"]

    def test_offset_moves_the_utc_date(self, audit_rows):
        # 2025-03-01 01:00 at +02:00 is 2025-02-28 23:00 UTC: C-MOVE is still a direct (ea) customer.
        # 2025-02-28 20:00 at -05:00 is 2025-03-01 01:00 UTC: C-MOVE is a CSP customer with nothing direct.
        out = audit_rows(
            dict(recipient_address="a@move.example", subject="Your invoice is ready", sent_at="2025-03-01T01:00:00+02:00"),
            dict(recipient_address="a@move.example", subject="Your invoice is ready", sent_at="2025-02-28T20:00:00-05:00"),
        )
        assert list(out["verdict"]) == ["out_of_scope", "violation"]
        assert [t.isoformat() for t in out["sent_at"]] == ["2025-02-28T23:00:00+00:00", "2025-03-01T01:00:00+00:00"]

    def test_naive_time_is_utc(self, audit_rows):
        out = audit_rows(dict(recipient_address="a@move.example", subject="Your invoice is ready", sent_at="2025-03-01T00:00:00"))
        assert out["verdict"].iloc[0] == "violation"
        assert str(out["sent_at"].dt.tz) == "UTC"

    def test_before_any_agreement(self, audit_rows):
        out = audit_rows(dict(recipient_address="a@csp.example", subject="Your invoice is ready", sent_at="2024-12-31T23:00:00Z"))
        assert out["verdict"].iloc[0] == "out_of_scope"

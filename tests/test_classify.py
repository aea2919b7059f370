"""Topic and product classification: precedence, evidence, confidence, unknown on thin or
conflicting evidence, English and Chinese. Expected labels were written by reading each
message, per SPEC §3."""
from __future__ import annotations

import pandas as pd
import pytest

from auditlib.classify import classify, classify_texts, distinct_texts
from auditlib.policy import load_policy

POLICY = load_policy()


def text(subject: str, body: str = "") -> pd.Series:
    """The text-only classification of one message."""
    return classify_texts(pd.Series([subject]), pd.Series([body]), POLICY).iloc[0]


def frame(**columns) -> pd.DataFrame:
    """A canonical-like frame of one row; missing optional columns are empty."""
    row = {"subject": "", "body": "", "source": None, "category": None, "product": None, **columns}
    return pd.DataFrame([row])


@pytest.mark.parametrize("subject, body, topic, product", [
    ("Your Microsoft 365 invoice is ready", "Amount due: USD 120.00.", "subscription", "microsoft-365"),
    ("Action required: update your payment method", "We couldn't charge your card for Azure.", "subscription", "azure"),
    ("Your Dynamics 365 trial ends in 3 days", "Buy a subscription to keep your data.", "subscription", "dynamics-365"),
    ("Service incident: users can't open Power BI reports", "Engineers are investigating.", "operational", "power-platform"),
    ("Planned maintenance for Windows 365", "Cloud PCs may restart during the window.", "operational", "windows"),
    ("Security alert: ransomware detected on 2 devices", "Investigate in the Microsoft Defender portal.", "operational", "security"),
    ("Register for our Copilot webinar", "Save your seat for the live demo of Microsoft 365 Copilot.", "marketing", "microsoft-365"),
    # hard cases: billing words in an outage, a trial in marketing, a retirement
    ("Billing portal outage", "Invoice pages are unavailable; we are restoring access.", "operational", "unknown"),
    ("Try Microsoft Sentinel free for 31 days", "See why security teams choose it.", "marketing", "security"),
    ("Azure Classic Cloud Services will retire", "Migrate your workloads before 31 August.", "operational", "azure"),
    # Simplified Chinese
    ("您的订阅即将到期", "您的 Microsoft 365 商业版订阅将于下月到期，请及时续订。", "subscription", "microsoft-365"),
    ("服务中断：Exchange Online 无法访问", "部分用户无法访问邮箱，我们正在调查。", "operational", "microsoft-365"),
    ("立即报名参加网络研讨会", "了解 Dynamics 365 如何帮助销售团队。", "marketing", "dynamics-365"),
    ("您的发票已生成", "3 月份 Azure 使用费用的发票已可下载。", "subscription", "azure"),
    # subject in one language, body in another
    ("Your invoice is ready", "您的 Power Apps 发票已生成，请在月底前付款。", "subscription", "power-platform"),
])
def test_text_topic_and_product(subject, body, topic, product):
    got = text(subject, body)
    assert (got["text_topic"], got["text_product"]) == (topic, product)


@pytest.mark.parametrize("prefixed, plain", [
    ("RE: FW: Your invoice is ready", "Your invoice is ready"),
    ("Fwd: Planned maintenance", "Planned maintenance"),
    ("回复：转发：您的发票已生成", "您的发票已生成"),
])
def test_reply_and_forward_markers_change_nothing(prefixed, plain):
    assert text(prefixed).to_dict() == text(plain).to_dict()


def test_the_product_named_in_the_headline_wins_over_others_mentioned():
    # a Power BI notice that mentions Azure data sources is about Power BI (SPEC §3)
    got = text("Power BI: Azure Data Lake connector update", "Reports refreshing from Azure storage are affected.")
    assert got["text_product"] == "power-platform"
    assert "power bi" in got["product_evidence"]


def test_several_families_alike_is_an_unknown_product():
    assert text("Your invoice for Azure and Dynamics 365")["text_product"] == "unknown"


def test_conflicting_topic_evidence_is_unknown_and_says_so():
    got = text("Webinar about your invoice")  # marketing and subscription alike
    assert got["text_topic"] == "unknown"
    assert got["topic_evidence"].startswith("too close:")
    assert "webinar" in got["topic_evidence"] and "invoice" in got["topic_evidence"]


def test_weak_evidence_alone_is_unknown():
    got = text("Thanks for the update")
    assert got["text_topic"] == "unknown"
    assert got["topic_evidence"].startswith("only weak terms:")


def test_no_evidence_is_unknown_with_zero_confidence():
    got = text("Hello", "See you on Tuesday.")
    assert (got["text_topic"], got["topic_evidence"], got["topic_confidence"]) == ("unknown", "", 0.0)
    assert got["text_product"] == "unknown"


def test_evidence_quotes_terms_and_where_they_were_found():
    got = text("Your invoice is ready", "Pay the amount due by 15 March.")
    assert got["text_topic"] == "subscription"
    assert '"invoice" (subject)' in got["topic_evidence"]
    assert '"amount due"' in got["topic_evidence"]
    assert 0.5 < got["topic_confidence"] <= 1.0


def test_html_bodies_are_read_as_text():
    got = text("Notice", "<p>Planned&nbsp;maintenance</p><p>for <b>Azure</b> SQL Database</p>")
    assert (got["text_topic"], got["text_product"]) == ("operational", "azure")


def test_operational_source_overrides_a_billing_text():
    got = classify(frame(subject="Your invoice is ready", source="message_center"), POLICY).iloc[0]
    assert (got["topic"], got["topic_evidence"], got["topic_confidence"]) == ("operational", "source message_center", 1.0)


def test_graph_category_overrides_the_text():
    got = classify(frame(subject="Register for our webinar", category="stayInformed"), POLICY).iloc[0]
    assert (got["topic"], got["topic_evidence"]) == ("operational", "category stayInformed")


def test_category_naming_a_topic_is_that_topic():
    got = classify(frame(subject="Planned maintenance", category="marketing"), POLICY).iloc[0]
    assert got["topic"] == "marketing"


def test_source_comes_before_category():
    got = classify(frame(subject="Your invoice", source="service_health", category="subscription"), POLICY).iloc[0]
    assert got["topic"] == "operational"


def test_text_decides_without_source_or_category_and_a_filled_product_wins():
    got = classify(frame(subject="Your Azure invoice is ready", source="email", product="dynamics-365"), POLICY).iloc[0]
    assert (got["topic"], got["product"], got["product_evidence"]) == ("subscription", "dynamics-365", "product dynamics-365")


def test_each_distinct_text_is_classified_once_and_mapped_back():
    subjects = ["Your invoice is ready", "Planned maintenance"] * 500
    rows = pd.DataFrame({"subject": subjects, "body": "", "source": None, "category": None, "product": None})
    codes, unique = distinct_texts(rows)
    assert len(unique) == 2 and len(codes) == 1000
    assert (unique["subject"].to_numpy()[codes] == rows["subject"].to_numpy()).all()
    topics = classify(rows, POLICY)["topic"].astype("str")
    assert topics.tolist() == ["subscription", "operational"] * 500


def test_same_subject_with_different_bodies_is_two_texts():
    rows = pd.DataFrame({"subject": ["Notice", "Notice"], "body": ["Your invoice is ready.", "Planned maintenance tonight."],
                         "source": None, "category": None, "product": None})
    assert classify(rows, POLICY)["topic"].astype("str").tolist() == ["subscription", "operational"]


def test_reason_of_a_verdict_quotes_the_evidence(audit_rows):
    out = audit_rows(dict(subject="Planned maintenance for Azure SQL Database")).iloc[0]
    assert out["verdict"] == "allowed" and out["rule_id"] == "CSP-COMM-3"
    assert "planned maintenance" in out["reason"]

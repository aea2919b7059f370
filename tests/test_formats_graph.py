"""Graph service communications: one row per post and customer, Microsoft's sender, the Graph
category, services mapped to families; the real Message Center posts all come out operational."""
from pathlib import Path

import pandas as pd
import pytest

from auditlib.audit import run_audit
from auditlib.errors import InputError
from auditlib.readers import read_log

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
GRAPH = FIXTURES / "graph"
REAL_MC = Path(__file__).resolve().parents[2] / "shared" / "real" / "message-center"


def test_message_center_page_one_row_per_post_and_customer():
    m = read_log(GRAPH / "message_center_page.json", options={"customer_ids": ["c-contoso", "Fab Rikam"]}).messages
    assert m["message_id"].tolist() == ["MC900001", "MC900001", "MC900002", "MC900002", "MC900003", "MC900003"]
    assert m["customer_id"].tolist() == ["c-contoso", "Fab Rikam"] * 3
    # the placeholder mailbox is made a valid address; resolution uses the filled customer_id
    assert m["recipient_address"].tolist()[:2] == ["tenant-admins@c-contoso.tenant.invalid", "tenant-admins@fab-rikam.tenant.invalid"]
    assert set(m["sender_address"]) == {"o365mc@microsoft.com"}
    assert set(m["source"]) == {"message_center"}
    assert m["category"].tolist()[::2] == ["stayInformed", "planForChange", "planForChange"]
    # Teams -> microsoft-365; Exchange + Defender span two families -> unknown; an unmapped service -> left to the text
    assert m["product"].iloc[0] == "microsoft-365" and m["product"].iloc[2] == "unknown" and pd.isna(m["product"].iloc[4])
    # startDateTime with an offset; lastModifiedDateTime when there is no start
    assert m["sent_at"].tolist()[::2] == [pd.Timestamp(t, tz="UTC") for t in ("2025-01-10 18:00", "2025-01-11 08:30", "2025-01-12 00:00")]
    assert m["subject"].iloc[0] == "Microsoft Teams: meeting recap in more meetings"
    assert m["body"].iloc[0] == "<p>Meeting recap will be available in more meetings.</p>"


def test_powershell_export_of_one_post():
    m = read_log(GRAPH / "MC900004.json", options={"customer_ids": ["c-contoso"]}).messages
    assert m[["message_id", "category", "product", "subject"]].values.tolist() == [
        ["MC900004", "preventOrFixIssue", "power-platform", "Power BI: faster report loading"]]
    assert m["sent_at"].iloc[0] == pd.Timestamp("2025-02-07 20:48:44", tz="UTC")


def test_service_health_issues():
    m = read_log(GRAPH / "service_health.json", options={"customer_ids": ["c-contoso"]}).messages
    assert m["message_id"].tolist() == ["EX1000001", "TM1000002", "PB1000003"]
    assert set(m["source"]) == {"service_health"}
    assert m["category"].tolist()[:2] == ["incident", "advisory"] and pd.isna(m["category"].iloc[2])  # unknownFutureValue
    assert m["product"].tolist() == ["microsoft-365", "microsoft-365", "power-platform"]
    assert m["body"].iloc[0] == ("Users may be unable to access their mailbox using Outlook.\n\n"
                                 "<p>We are investigating.</p>\n\n<p>Final status: service restored.</p>")


def test_bad_posts_are_rejected_per_customer():
    log = read_log(GRAPH / "message_center_bad.json", options={"customer_ids": ["a", "b"]})
    assert log.messages["message_id"].tolist() == ["MC900010", "MC900010"]
    assert log.rejected[["record", "reason"]].values.tolist() == [
        [2, "no message id"], [2, "no message id"],
        [3, "startDateTime 'next tuesday' is not a date and time"], [3, "startDateTime 'next tuesday' is not a date and time"],
        [4, "no startDateTime"], [4, "no startDateTime"],
    ]
    assert log.rows_read == 4 * 2


def test_a_feed_without_a_customer_is_an_error_that_says_what_to_give():
    with pytest.raises(InputError, match="service_health posts address a tenant.*--customer-id"):
        read_log(GRAPH / "service_health.json")


def test_truncated_json_is_unusable():
    with pytest.raises(InputError, match="message_center_truncated.json: unreadable JSON"):
        read_log(GRAPH / "message_center_truncated.json", options={"customer_ids": ["c"]})


@pytest.mark.skipif(not REAL_MC.is_dir(), reason="real Message Center posts (../shared/real) not present")
def test_real_message_center_posts_are_all_operational():
    files = sorted(REAL_MC.glob("MC*.json"))
    run = run_audit([REAL_MC], FIXTURES / "registry", reader_options={"customer_ids": ["c-contoso"]})
    assert run.rows_read == len(files) == 149
    assert len(run.rejected) == 0
    assert set(run.verdicts["topic"]) == {"operational"}
    assert set(run.verdicts["verdict"]) == {"allowed"} and set(run.verdicts["rule_id"]) == {"CSP-COMM-3"}


@pytest.mark.skipif(not REAL_MC.is_dir(), reason="real Message Center posts (../shared/real) not present")
def test_real_message_center_services_all_map_to_a_family():
    m = read_log(REAL_MC, options={"customer_ids": ["c-contoso"]}).messages.set_index("message_id")
    assert m["product"].notna().all()  # every service named in the real posts is in the policy's table
    assert m.loc["MC1000182", "product"] == "power-platform"  # Services: Microsoft Power Automate
    assert m.loc["MC1004412", "product"] == "microsoft-365"  # SharePoint Online + Microsoft Viva
    assert m.loc["MC918563", "product"] == "unknown"  # Exchange Online + Microsoft Defender XDR
    assert m.loc["MC1000182", "subject"] == "Power Automate – View progressive logging for desktop flows"

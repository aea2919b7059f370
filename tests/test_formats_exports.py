"""The exports analysts hold besides canonical logs (issue 15): trace JSON, Reporting Web Service
pages, spreadsheet-saved trace CSVs, the old Service Communications feed, Defender EmailEvents,
Azure Service Health, JSON that is no message log, folders as batches, sender authentication,
and the policy reaching every reader. Fixtures are invented, shaped after public samples."""
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from auditlib.errors import InputError
from auditlib.policy import DEFAULT_POLICY_PATH
from auditlib.readers import detect_format, read_log

EXPORTS = Path(__file__).parent / "fixtures" / "formats" / "exports"
FORMATS = EXPORTS.parent
REGISTRY = Path(__file__).parent / "fixtures" / "registry"
TENANT = "C-CSP"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def auditlib(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditlib", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("name, fmt", [
    ("trace_array.json", "exchange-message-trace-json"),
    ("trace_lines.log", "exchange-message-trace-json"),
    ("rws_page.json", "exchange-message-trace-json"),
    ("trace_spreadsheet.csv", "exchange-message-trace"),
    ("service_comms_messages.json", "office365-service-communications"),
    ("defender_email_events.csv", "defender-email-events"),
    ("defender_stream.json", "defender-email-events-json"),
    ("azure_activity_log.json", "azure-service-health"),
    ("resource_health_events.json", "azure-service-health"),
    ("management_activity_dlp.json", "office-365-management-activity"),
])
def test_each_export_is_detected_by_its_content(name, fmt):
    assert detect_format(EXPORTS / name).name == fmt


def test_trace_json_array_in_powershell_case_with_dotnet_dates():
    log = read_log(EXPORTS / "trace_array.json")
    m = log.messages
    assert m["message_id"].tolist() == ["<renewal-7@microsoft.com>", "5d2c0000-0000-4000-8000-000000000002"]
    assert m["sent_at"].tolist() == [utc("2024-03-04 09:15:27.123456"), utc("2024-03-05 09:13:20")]
    assert set(m["source"]) == {"email"}
    assert log.rejected[["record", "reason"]].values.tolist() == [[3, "no sender address"]]


def test_trace_json_lines_in_camel_case_and_a_reporting_web_service_page():
    lines = read_log(EXPORTS / "trace_lines.log").messages
    assert lines["recipient_address"].tolist() == ["ana@contoso.com", "ben@contoso.com"]
    assert lines["sent_at"].iloc[1] == utc("2024-04-01 08:00:01.25")
    page = read_log(EXPORTS / "rws_page.json").messages
    assert page[["message_id", "subject"]].values.tolist() == [["<digest-41@microsoft.com>", "Weekly sign-in digest"]]
    assert page["sent_at"].iloc[0] == utc("2024-02-11 22:05:41.765432")


def test_a_broken_line_of_a_trace_log_names_it(tmp_path):
    path = tmp_path / "trace.log"
    path.write_text((EXPORTS / "trace_lines.log").read_text() + '{"Received": "2024-01-01", \n')
    with pytest.raises(InputError, match=r"trace.log, row 3: unreadable JSON"):
        read_log(path)


def test_spreadsheet_dates_and_blank_rows_skipped_and_counted():
    log = read_log(EXPORTS / "trace_spreadsheet.csv")
    assert log.messages["sent_at"].tolist() == [utc("2024-03-07 14:05"), utc("2024-03-08 14:05:09"), utc("2024-03-09 09:30")]
    assert len(log.rejected) == 0 and log.rows_read == 3
    assert [w.split(": ", 1)[1] for w in log.warnings] == ["3 blank rows skipped"]


def test_day_first_when_a_file_can_only_be_day_first_or_when_told():
    assert read_log(EXPORTS / "trace_dayfirst.csv").messages["sent_at"].tolist() == [utc("2024-03-26 08:10"), utc("2024-03-04 08:10")]
    assert read_log(EXPORTS / "trace_ambiguous.csv").messages["sent_at"].tolist() == [utc("2024-04-03 08:10")]
    told = read_log(EXPORTS / "trace_ambiguous.csv", options={"day_first": True}).messages
    assert told["sent_at"].tolist() == [utc("2024-03-04 08:10")]


def test_the_old_service_communications_feed_needs_a_customer_and_is_operational_by_source():
    with pytest.raises(InputError, match="address a tenant"):
        read_log(EXPORTS / "service_comms_messages.json")
    log = read_log(EXPORTS / "service_comms_messages.json", options={"customer_ids": [TENANT]})
    m = log.messages
    assert m[["message_id", "customer_id", "source", "product"]].values.tolist() == [
        ["SP41002", TENANT, "service_health", "microsoft-365"]]
    assert m["subject"].iloc[0] == "SharePoint Online: Document library access"
    assert "rolled back" in m["body"].iloc[0] and m["sent_at"].iloc[0] == utc("2019-06-02 07:40")
    assert log.rejected["reason"].tolist() == ["StartTime 'not a time' is not a date and time"]


def test_defender_email_events_csv_fills_sender_authenticated():
    m = read_log(EXPORTS / "defender_email_events.csv").messages
    assert m["message_id"].tolist() == ["<inv-5@microsoft.com>", "<inv-6@microsoft.com>", "aa110000-0000-4000-8000-000000000003"]
    assert m["sender_authenticated"].fillna("").tolist() == ["false", "true", ""]
    assert m["sent_at"].iloc[2] == utc("2024-05-03 09:00")


def test_defender_streamed_records():
    m = read_log(EXPORTS / "defender_stream.json").messages
    assert m["message_id"].tolist() == ["<renew-9@microsoft.com>", "bb220000-0000-4000-8000-000000000002"]
    assert m["sent_at"].tolist() == [utc("2024-05-06 07:29:58"), utc("2024-05-06 07:31")]
    assert m["sender_authenticated"].fillna("").tolist() == ["false", ""]  # SPF and DKIM both failed; one passed


def test_azure_service_health_events_one_row_per_event_and_customer():
    activity = read_log(EXPORTS / "azure_activity_log.json", options={"customer_ids": [TENANT, "C-ID"]}).messages
    assert len(activity) == 4 and set(activity["source"]) == {"service_health"}
    assert activity["message_id"].unique().tolist() == ["dd440000-0000-4000-8000-000000000001", "dd440000-0000-4000-8000-000000000002"]
    assert activity["subject"].iloc[0] == "Storage - North Europe"
    health = read_log(EXPORTS / "resource_health_events.json", options={"customer_ids": [TENANT]}).messages
    assert health[["message_id", "subject"]].values.tolist() == [["XY9Z-8W7", "Planned maintenance for virtual machines"]]
    assert health["sent_at"].iloc[0] == utc("2024-06-20 09:00")


@pytest.mark.parametrize("content, words", [
    ((EXPORTS / "management_activity_dlp.json").read_text(), "Office 365 Management Activity audit records"),
    ('{"kind": "youtube#video", "etag": "x", "items": []}', "unrecognised message log format: JSON with keys kind, etag, items"),
    ('{"Received": "2024-01-01", "SenderAddress": "a@b.example", "RecipientAddress": "c@d.example",', "unreadable JSON"),
])
def test_json_that_is_no_message_log_is_refused_with_one_line(tmp_path, content, words):
    path = tmp_path / "export.json"
    path.write_text(content)
    done = auditlib("audit", path, "--registry", REGISTRY, "--output", tmp_path / "v.csv")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and words in done.stderr


def test_a_folder_is_a_batch_and_strict_makes_a_bad_file_an_error(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(EXPORTS / "trace_lines.log", folder)
    shutil.copy(EXPORTS / "management_activity_dlp.json", folder)
    done = auditlib("audit", folder, "--registry", REGISTRY, "--output", tmp_path / "v.csv")
    assert done.returncode == 0, done.stderr
    rejected = pd.read_csv(tmp_path / "v.csv.rejected.csv")
    assert rejected["record"].tolist() == ["management_activity_dlp.json:whole file"]
    assert rejected["reason"].str.contains("file not read: Office 365 Management Activity").all()
    manifest = (tmp_path / "v.csv.manifest.json").read_text()
    assert "management_activity_dlp.json: file not read" in manifest
    assert "3 rows read, 2 verdicts" in done.stderr
    strict = auditlib("audit", folder, "--registry", REGISTRY, "--output", tmp_path / "s.csv", "--strict")
    assert strict.returncode == 2 and "management_activity_dlp.json:whole file" in strict.stderr
    named = auditlib("audit", folder / "management_activity_dlp.json", "--registry", REGISTRY, "--output", tmp_path / "n.csv")
    assert named.returncode == 2 and len(named.stderr.strip().splitlines()) == 1


def test_a_spoofed_microsoft_sender_is_not_microsoft(tmp_path):
    done = auditlib("audit", EXPORTS / "spoofed_microsoft.eml", EXPORTS / "authenticated_arc.eml",
                    "--registry", REGISTRY, "--output", tmp_path / "v.csv")
    assert done.returncode == 0, done.stderr
    v = pd.read_csv(tmp_path / "v.csv").set_index("message_id")
    spoof, genuine = v.loc["<spoof-1@lookalike.example>"], v.loc["<genuine-1@microsoft.com>"]
    assert (spoof["sender_party"], spoof["verdict"]) == ("unknown", "out_of_scope")
    assert "failed authentication" in spoof["reason"]
    assert genuine["sender_party"] == "microsoft"


def test_authentication_results_the_receiving_side_wrote_decide():
    spoof = read_log(EXPORTS / "spoofed_microsoft.eml").messages
    assert spoof["sender_authenticated"].tolist() == ["false"]  # its own header, not the ARC set below it
    arc = read_log(EXPORTS / "authenticated_arc.eml").messages
    assert arc["sender_authenticated"].tolist() == ["true"]
    plain = read_log(FORMATS / "email" / "multi_recipient.eml").messages
    assert plain["sender_authenticated"].isna().all()


def test_the_policy_given_reaches_the_readers(tmp_path):
    policy = tmp_path / "policy.toml"
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    assert '"SharePoint Online" = "microsoft-365"' in text
    policy.write_text(text.replace('"SharePoint Online" = "microsoft-365"', '"SharePoint Online" = "azure"')
                      .replace('version = "', 'version = "test-', 1), encoding="utf-8")
    shutil.copy(DEFAULT_POLICY_PATH.parent / "classifier.npz", tmp_path)
    done = auditlib("audit", EXPORTS / "service_comms_messages.json", "--customer-id", TENANT, "--registry", REGISTRY,
                    "--output", tmp_path / "v.csv", "--policy", policy)
    assert done.returncode == 0, done.stderr
    v = pd.read_csv(tmp_path / "v.csv")
    assert v["product"].tolist() == ["azure"] and v["policy_version"].str.startswith("test-").all()


def test_partner_center_single_objects_in_powershell_case_with_a_bom_and_resellers():
    from auditlib.partner_center import Partner, build_registry

    provider = Partner("1234567", "indirect_provider", "Partner One")
    b = build_registry([EXPORTS / "customer_single_powershell.json"], [EXPORTS / "subscription_single_powershell.json"],
                       provider, reseller_files=[EXPORTS / "resellers_powershell.json"])
    assert b.customers[["customer_id", "domains"]].values.tolist() == [["11111111-1111-4111-8111-111111111111", "contoso.onmicrosoft.com"]]
    assert b.agreements[["partner_id", "products", "start_date"]].values.tolist() == [["7654321", "microsoft-365", "2023-02-01"]]
    partners = b.partners.astype(object).where(b.partners.notna(), None)
    assert partners[["partner_id", "partner_name", "partner_type", "parent_partner_id"]].values.tolist() == [
        ["1234567", "Partner One", "indirect_provider", None],
        ["1a2b0000-0000-4000-8000-000000000002", "Alpine Cloud", "indirect_reseller", "1234567"],  # no MPN id: its id
        ["7654321", "Northwind Resale", "indirect_reseller", "1234567"],
    ]


def test_partner_center_refuses_a_wrong_kind_and_resellers_of_a_direct_bill_partner():
    from auditlib.partner_center import Partner, build_registry

    with pytest.raises(InputError, match="resellers_powershell.json: a Partner Center reseller relationships export, "
                                         "not customers \\(give it with --resellers\\)"):
        build_registry([EXPORTS / "resellers_powershell.json"], [EXPORTS / "subscription_single_powershell.json"],
                       Partner("1", "indirect_provider"))
    with pytest.raises(InputError, match="indirect resellers belong to an indirect provider"):
        build_registry([EXPORTS / "customer_single_powershell.json"], [EXPORTS / "subscription_single_powershell.json"],
                       Partner("1", "direct_bill"), reseller_files=[EXPORTS / "resellers_powershell.json"])

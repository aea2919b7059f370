"""Exchange Online message traces; expected values read off the fixtures by hand."""
from pathlib import Path

import pandas as pd
import pytest

from auditlib.errors import InputError
from auditlib.readers import read_log

EXCHANGE = Path(__file__).parent / "fixtures" / "formats" / "exchange"


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_get_message_trace_export():
    log = read_log(EXCHANGE / "message_trace.csv")
    m = log.messages
    assert m["recipient_address"].tolist() == ["alice@contoso.com", "bob@contoso.com", "alice@contoso.com", "carol@fabrikam.com"]
    # en-US PowerShell times, UTC
    assert m["sent_at"].tolist() == [utc("2023-11-17 18:22:15"), utc("2023-11-17 18:22:16"), utc("2023-11-18 09:05"), utc("2023-11-19 13:00")]
    # an empty MessageId falls back to the MessageTraceId
    assert m["message_id"].iloc[3] == "0f0e0d0c-0000-4000-8000-000000000005"
    assert set(m["source"]) == {"email"}
    assert "psComputerName" not in m.columns and "status" not in m.columns
    rejected = dict(zip(log.rejected["record"], log.rejected["reason"]))
    assert rejected == {
        4: "no sender address",
        6: "Received '31/31/2023 1:00:00 PM' is not a date and time",
        7: "repeats the message and recipient of record 1",
    }
    assert log.rows_read == 7


def test_historical_search_report_in_utf16_explodes_recipient_status():
    log = read_log(EXCHANGE / "historical_search_utf16.csv")
    m = log.messages
    assert list(zip(m["message_id"], m["recipient_address"])) == [
        ("<renew-1@microsoft.com>", "alice@contoso.com"),
        ("<renew-1@microsoft.com>", "bob@contoso.com"),
        ("6a1b0000-0000-4000-8000-000000000002", "dave@contoso.com"),  # network_message_id stands in
    ]
    assert m["subject"].iloc[0] == "您的订阅即将到期"
    assert m["sent_at"].iloc[0] == utc("2023-11-20 08:30:00.123456")
    assert log.rejected[["record", "reason"]].values.tolist() == [[3, "no recipient address"]]


def test_extended_report_takes_the_recipient_address_list():
    m = read_log(EXCHANGE / "historical_extended.csv").messages
    assert m["recipient_address"].tolist() == ["erin@contoso.com", "frank@contoso.com", "erin@contoso.com"]
    assert m["sent_at"].tolist() == [utc("2023-11-23 11:00"), utc("2023-11-23 11:00"), utc("2023-11-23 12:00")]


def test_origin_timestamp_variant_with_utf8_bom_honours_the_offset():
    m = read_log(EXCHANGE / "historical_origin_timestamp.csv").messages
    assert m[["recipient_address", "subject"]].values.tolist() == [["gina@fabrikam.com", "Price change notice"]]
    assert m["sent_at"].iloc[0] == utc("2023-11-24 04:00")


def test_graph_exchange_message_trace_page():
    log = read_log(EXCHANGE / "graph_message_trace.json")
    m = log.messages
    assert m["message_id"].tolist() == ["<pay-1@microsoft.com>", "4b0e0000-0000-4000-8000-000000000002"]
    assert m["sent_at"].tolist() == [utc("2023-11-24 07:15"), utc("2023-11-24 07:00")]
    assert log.rejected[["record", "reason"]].values.tolist() == [[3, "no sender address"]]


def test_a_trace_without_a_required_column_is_unusable(tmp_path):
    # detected as a trace by its header, but a row's fields are short: the CSV parser's error names the file
    path = tmp_path / "trace.csv"
    path.write_text("Received,SenderAddress,RecipientAddress\n11/17/2023 6:22:15 PM,a@b.com,c@d.com,extra,fields\n")
    with pytest.raises(InputError, match="trace.csv: unreadable CSV"):
        read_log(path)


def test_a_utf16_file_that_is_not_utf16_is_unusable(tmp_path):
    path = tmp_path / "report.csv"
    path.write_bytes(b"\xff\xfe" + "sender_address,recipient_status,date_time_utc\n".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(InputError, match="report.csv: not utf-16 text"):
        read_log(path)

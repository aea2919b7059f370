"""Exchange Online message traces: ``Get-MessageTrace`` results (``Export-Csv``, a spreadsheet's
re-save of it, ``ConvertTo-Json`` arrays and one-object-per-line logs, the legacy Reporting Web
Service ``MessageTrace`` OData pages SIEM connectors poll), the historical-search CSV reports,
and Graph ``exchangeMessageTrace`` JSON.

A trace knows who sent what to whom and when, never the body, so these rows are
``source=email`` and the classifier works from the subject alone.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .base import RECORD
from .common import head_text, header_names, items_frame, read_export_csv, read_json_items, reject_bad_times, reject_unusable
from .times import utc_times

# Get-MessageTrace: one row per recipient. MessageTraceId stands in for a missing MessageId.
TRACE_COLUMNS = {"received", "senderaddress", "recipientaddress"}
TRACE_JSON_KEYS = ('"received"', '"senderaddress"', '"recipientaddress"')

# Historical search reports ("enhanced summary", "extended"): the time column's name varies.
REPORT_TIME_COLUMNS = ("origin_timestamp_utc", "origin_timestamp", "date_time_utc")
REPORT_COLUMNS = {"sender_address", "recipient_status"}

GRAPH_TRACE_KEYS = ('"senderaddress"', '"recipientaddress"', '"receiveddatetime"')


def _email_rows(frame: pd.DataFrame, time_label: str, raw_time: pd.Series, day_first: bool | None = None) -> pd.DataFrame:
    """Canonical text columns of trace rows, with unusable rows rejected."""
    frame = frame.assign(sent_at=utc_times(raw_time, day_first), source="email")
    return reject_unusable(reject_bad_times(frame, raw_time, time_label))


def _first_filled(*columns: pd.Series) -> pd.Series:
    """Per row, the first of ``columns`` that is not blank (ids an export may leave empty)."""
    blank_to_na = [c.astype("str").str.strip().replace("", pd.NA) for c in columns]
    out = blank_to_na[0]
    for fallback in blank_to_na[1:]:
        out = out.fillna(fallback)
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series("", index=frame.index, dtype="str")


def is_message_trace(head: bytes) -> bool:
    return TRACE_COLUMNS <= header_names(head)


def read_message_trace(path: Path, day_first: bool | None = None) -> pd.DataFrame:
    """``Get-MessageTrace | Export-Csv`` (the PowerShell columns, PSComputerName, ..., are
    ignored), as written or re-saved by a spreadsheet (``M/d/yyyy H:mm`` times, blank rows)."""
    return _trace_rows(read_export_csv(path), day_first)


def _trace_rows(raw: pd.DataFrame, day_first: bool | None) -> pd.DataFrame:
    """Rows of ``Get-MessageTrace`` objects (lower-cased property names), whatever they were saved as."""
    frame = pd.DataFrame({
        "message_id": _first_filled(_column(raw, "messageid"), _column(raw, "messagetraceid")),
        "sender_address": raw["senderaddress"],
        "recipient_address": raw["recipientaddress"],
        "subject": _column(raw, "subject"),
        RECORD: raw.index + 1,
    })
    return _email_rows(frame, "Received", raw["received"], day_first)


def is_message_trace_json(head: bytes) -> bool:
    text = head_text(head).lstrip("\ufeff \t\r\n").lower()
    return text[:1] in ("{", "[") and all(key in text for key in TRACE_JSON_KEYS)


def read_message_trace_json(path: Path) -> pd.DataFrame:
    """``Get-MessageTrace`` objects as JSON: an array or one object per line (``ConvertTo-Json``,
    log shippers), or a Reporting Web Service ``MessageTrace`` page (its ``value`` array);
    PascalCase or camelCase; ``Received`` as ISO 8601 (no offset: UTC) or ``/Date(ms)/``."""
    items = read_json_items(path)
    raw = items_frame(items, {key: key for key in (*TRACE_COLUMNS, "messageid", "messagetraceid", "subject")})
    return _trace_rows(raw.drop(columns=RECORD), None)


def is_historical_search(head: bytes) -> bool:
    names = header_names(head)
    return REPORT_COLUMNS <= names and any(column in names for column in REPORT_TIME_COLUMNS)


def read_historical_search(path: Path, day_first: bool | None = None) -> pd.DataFrame:
    """A historical-search CSV report (UTF-8 or UTF-16): one row per message whose recipients
    are ``address##Receive, Deliver`` entries of ``recipient_status`` separated by ``;`` (or, in
    reports that have it, the ``recipient_address`` list); each recipient becomes its own row."""
    raw = read_export_csv(path)
    time_column = next(column for column in REPORT_TIME_COLUMNS if column in raw)
    recipients = raw["recipient_address"] if "recipient_address" in raw else raw["recipient_status"]
    frame = pd.DataFrame({
        "message_id": _first_filled(_column(raw, "message_id"), _column(raw, "network_message_id")),
        "sender_address": raw["sender_address"],
        "recipient_address": recipients.str.split(";"),
        "subject": _column(raw, "message_subject"),
        "time": raw[time_column],
        RECORD: raw.index + 1,
    }).explode("recipient_address", ignore_index=True)
    frame["recipient_address"] = frame["recipient_address"].astype("str").str.split("##", n=1).str[0].str.strip()
    return _email_rows(frame.drop(columns="time"), time_column, frame["time"], day_first)


def is_graph_message_trace(head: bytes) -> bool:
    return all(key in head_text(head).lower() for key in GRAPH_TRACE_KEYS)


def read_graph_message_trace(path: Path) -> pd.DataFrame:
    """Graph ``exchangeMessageTrace`` objects (a page with ``value``, an array, or one object)."""
    items = read_json_items(path)
    frame = items_frame(items, {
        "message_id": "messageid", "id": "id", "sender_address": "senderaddress",
        "recipient_address": "recipientaddress", "subject": "subject", "time": "receiveddatetime",
    })
    frame["message_id"] = _first_filled(frame["message_id"], frame["id"])
    return _email_rows(frame.drop(columns=["id", "time"]), "receivedDateTime", frame["time"])

"""Microsoft Defender ``EmailEvents``: Advanced Hunting results saved as CSV or JSON, and the
streaming API's ``AdvancedHunting-EmailEvents`` records (``{"records": [{"time", "category",
"properties": {...}}]}`` or one record per line), whose ``properties`` hold the columns.

One row per event (message and recipient): ``InternetMessageId`` (else ``NetworkMessageId``),
``SenderFromAddress`` (the From header, not the envelope sender), ``RecipientEmailAddress``,
``Subject``, ``Timestamp`` (streamed: ``time``). ``AuthenticationDetails`` (a JSON text or
object with ``SPF``, ``DKIM``, ``DMARC``) fills ``sender_authenticated``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from .authentication import verdict
from .base import RECORD
from .common import head_text, header_names, items_frame, read_export_csv, read_json_items, reject_bad_times, reject_unusable
from .times import utc_times

EVENT_COLUMNS = {"senderfromaddress", "recipientemailaddress"}
_JSON_MARKERS = ('"senderfromaddress"', '"recipientemailaddress"')
_FIELDS = ("timestamp", "time", "internetmessageid", "networkmessageid", "senderfromaddress",
           "recipientemailaddress", "subject", "authenticationdetails")


def is_email_events_csv(head: bytes) -> bool:
    return EVENT_COLUMNS <= header_names(head)


def is_email_events_json(head: bytes) -> bool:
    text = head_text(head).lstrip("\ufeff \t\r\n").lower()
    return text[:1] in ("{", "[") and all(marker in text for marker in _JSON_MARKERS)


def read_email_events_csv(path: Path) -> pd.DataFrame:
    """Advanced Hunting results saved from the portal as CSV."""
    raw = read_export_csv(path)
    return _event_rows(raw.reindex(columns=list(_FIELDS), fill_value="").assign(**{RECORD: raw.index + 1}))


def read_email_events_json(path: Path) -> pd.DataFrame:
    """Advanced Hunting results as JSON, or streamed records (their ``properties`` flattened)."""
    items = [{**item, **item.get("properties", {})} if isinstance(item.get("properties"), dict) else item
             for item in read_json_items(path)]
    return _event_rows(items_frame(items, {field: field for field in _FIELDS}).assign(
        authenticationdetails=pd.Series([_details_text(item.get("authenticationdetails")) for item in items], dtype="str")))


def _details_text(value: Any) -> str | None:
    return json.dumps(value) if isinstance(value, dict) else value


def _authenticated(details: str | None) -> str | None:
    """``sender_authenticated`` from an ``AuthenticationDetails`` JSON text; unknown when absent or unreadable."""
    try:
        parsed = json.loads(details) if details else {}
    except json.JSONDecodeError:
        return None
    return verdict({str(k).lower(): str(v) for k, v in parsed.items()}) if isinstance(parsed, dict) else None


def _event_rows(raw: pd.DataFrame) -> pd.DataFrame:
    time = raw["timestamp"].where(raw["timestamp"].fillna("").str.strip() != "", raw["time"])
    ids = raw["internetmessageid"].where(raw["internetmessageid"].fillna("").str.strip() != "", raw["networkmessageid"])
    frame = pd.DataFrame({
        "message_id": ids, "sender_address": raw["senderfromaddress"], "recipient_address": raw["recipientemailaddress"],
        "subject": raw["subject"].fillna(""), "source": "email",
        "sender_authenticated": raw["authenticationdetails"].map(_authenticated).astype("str"),
        "sent_at": utc_times(time), RECORD: raw[RECORD],
    })
    return reject_unusable(reject_bad_times(frame, time, "Timestamp"))

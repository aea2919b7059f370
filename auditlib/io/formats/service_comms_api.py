"""The retired Office 365 Service Communications API (``.../ServiceComms/Messages``), which
archives still hold: PascalCase ``Id``, ``StartTime``, ``Workload``, ``Title`` (often null),
``FeatureDisplayName`` and ``Messages``, the incident's updates (``PublishedTime``, ``MessageText``).

Like the Graph feeds that replaced it, it addresses a tenant, so it becomes one row per event and
``--customer-id`` (see :mod:`.graph`); every event is operational by its source (SPEC §3).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ...policy import Policy
from .common import head_text, items_frame, read_json_items
from .graph import tenant_rows

_MARKERS = ('"messagetext"', '"publishedtime"')


def is_service_comms_messages(head: bytes) -> bool:
    text = head_text(head).lstrip("\ufeff \t\r\n").lower()
    return text[:1] in ("{", "[") and '"workload"' in text and any(marker in text for marker in _MARKERS)


def _subject(item: dict[str, Any]) -> str:
    """The event's title, else what it is about (``Exchange Online: E-Mail and calendar access``)."""
    about = ": ".join(str(v) for v in (item.get("workloaddisplayname") or item.get("workload"),
                                        item.get("featuredisplayname")) if v)
    return item.get("title") or about or str(item.get("id") or "")


def _updates(item: dict[str, Any]) -> str:
    return "\n\n".join(str(m.get("messagetext")) for m in item.get("messages") or [] if m.get("messagetext"))


def read_service_comms_messages(path: Path, customer_ids: Sequence[str] = (), policy: Policy | None = None) -> pd.DataFrame:
    """Events (incidents, planned maintenance and message center posts alike: all operational):
    subject the title (or workload and feature), body every update's text in order, sent at
    ``StartTime`` (else ``LastUpdatedTime``), product from the ``Workload``."""
    items = read_json_items(path)
    events = items_frame(items, {"message_id": "id", "category": "classification"}).assign(
        subject=pd.Series([_subject(item) for item in items], dtype="str"),
        body=pd.Series([_updates(item) for item in items], dtype="str"),
        time=pd.Series([item.get("starttime") or item.get("lastupdatedtime") for item in items], dtype="str"),
    )
    services = pd.Series([[item["workload"]] if item.get("workload") else [] for item in items], dtype=object)
    return tenant_rows(events, services, "StartTime", "service_health", customer_ids, path, policy)

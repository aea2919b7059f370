"""Azure Service Health events: Activity Log ``ServiceHealth`` events (``az monitor activity-log
list``, the portal's export, diagnostic-settings ``records``) and Resource Health event lists
(``Microsoft.ResourceHealth/events``, a ``value`` page). The event's facts sit in ``properties``.

An event addresses a subscription's owners, not a mailbox: like the Graph feeds (:mod:`.graph`)
it becomes one row per event and ``--customer-id``, operational by its source (SPEC §3). Each
event is one message: the Activity Log's ``eventDataId`` (an incident's every update is an event
of its own), else the event's ``name`` (Resource Health: the tracking id).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from ...policy import Policy
from .common import head_text, items_frame, read_json_items
from .graph import tenant_rows

_MARKERS = ('"servicehealth"', "microsoft.resourcehealth/events", "microsoft.servicehealth/")


def is_azure_service_health(head: bytes) -> bool:
    text = head_text(head).lstrip("\ufeff \t\r\n").lower()
    return text[:1] in ("{", "[") and any(marker in text for marker in _MARKERS)


def _facts(item: dict[str, Any]) -> dict[str, Any]:
    """An event's own keys and its ``properties`` (which win), in one mapping."""
    props = item.get("properties")
    return {**item, **props} if isinstance(props, dict) else item


def _services(event: dict[str, Any]) -> list[str]:
    """The services an event names: Activity Log ``service``, Resource Health ``impact[].impactedService``."""
    named = [event.get("service"), *(i.get("impactedservice") for i in event.get("impact") or [] if isinstance(i, dict))]
    return [name for name in dict.fromkeys(named) if isinstance(name, str) and name]


def _first(event: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` the event fills (shapes name the same fact differently)."""
    return next((event[key] for key in keys if event.get(key)), None)


def read_azure_service_health(path: Path, customer_ids: Sequence[str] = (), policy: Policy | None = None) -> pd.DataFrame:
    """Subject the title, body the communication (Resource Health: summary), sent at the event's
    time (``eventTimestamp``, ``time``, else ``lastUpdateTime`` or ``impactStartTime``)."""
    events = [_facts(item) for item in read_json_items(path)]
    frame = items_frame(events, {}).assign(
        message_id=pd.Series([_first(e, "eventdataid", "name", "trackingid", "id") for e in events], dtype="str"),
        subject=pd.Series([_first(e, "title", "defaultlanguagetitle", "description") or "" for e in events], dtype="str"),
        body=pd.Series([_first(e, "communication", "defaultlanguagecontent", "summary", "description") for e in events], dtype="str"),
        category=pd.Series([_first(e, "incidenttype", "eventtype") for e in events], dtype="str"),
        time=pd.Series([_first(e, "eventtimestamp", "time", "lastupdatetime", "impactstarttime") for e in events], dtype="str"),
    )
    services = pd.Series([_services(e) for e in events], dtype=object)
    return tenant_rows(frame, services, "eventTimestamp", "service_health", customer_ids, path, policy)

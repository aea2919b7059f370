"""Microsoft Graph service communications: Message center posts (``serviceUpdateMessage``) and
service health issues (``serviceHealthIssue``), as the API returns them (camelCase, a ``value``
array, one file per page) or as Microsoft Graph PowerShell exports them (PascalCase, one post per file).

A post addresses a tenant, not a mailbox. The reader is told which customers the feed belongs
to (reader option ``customer_ids``; ``--customer-id`` on the command line) and writes one row
per post and customer, to the placeholder address ``tenant-admins@<customer id>.tenant.invalid``
(``.invalid`` is reserved, so it never matches a real domain); the filled ``customer_id`` is
what resolution uses. The sender is Microsoft's feed address from the policy file, the Graph
category is kept, and the post's services are mapped to a product family.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ...errors import InputError
from ...policy import Policy, load_policy
from .common import format_tables, head_text, items_frame, read_json_items, reject_bad_times, reject_unusable
from .times import utc_times

TENANT_RECIPIENT = "tenant-admins@{}.tenant.invalid"
_NOT_IN_DOMAIN = re.compile(r"[^a-z0-9.-]+")


def _sniffer(*markers: str) -> Callable[[bytes], bool]:
    """Accept a JSON file whose first bytes hold one of ``markers`` (lower-cased key names)."""

    def sniff(head: bytes) -> bool:
        text = head_text(head).lstrip().lower()
        return text[:1] in ("{", "[") and any(marker in text for marker in markers)

    return sniff


def family_of_services(services: pd.Series, policy: Policy) -> pd.Series:
    """A post's product family from its list of Graph service names.

    The family when all its services map to one; ``unknown`` when they span several (SPEC §3:
    a message about several families alike); missing, so the text decides, when a service is
    not in the policy's table or none is named.
    """
    table = {name.lower(): family for name, family in format_tables(policy.path)["service_communications"]["service_families"].items()}
    exploded = services.map(lambda names: names or [None]).explode()
    family = exploded.str.lower().map(table)
    known = family.notna().groupby(level=0).all()
    count = family.groupby(level=0).nunique()
    first = family.groupby(level=0).first()
    return pd.Series(np.where(~known, None, np.where(count == 1, first, "unknown")), index=services.index, dtype="str")


def _category(values: pd.Series, policy: Policy) -> pd.Series:
    """Graph categories in the policy's spelling; another value (``unknownFutureValue``) is dropped."""
    spelling = {name.lower(): name for name in policy.graph_categories}
    return values.str.lower().map(spelling).astype("str")


def tenant_rows(posts: pd.DataFrame, services: pd.Series, time_label: str, source: str,
                customer_ids: Sequence[str], path: Path, policy: Policy | None = None) -> pd.DataFrame:
    """One row per post (``message_id, subject, body, category, time, record``) and customer."""
    customers = [c.strip() for c in customer_ids if c.strip()]
    if not customers:
        raise InputError(str(path), f"{source} posts address a tenant, not a mailbox: name the customer(s) "
                         "the feed belongs to (--customer-id, or the reader option customer_ids)")
    policy = policy or load_policy()
    posts = posts.assign(
        sent_at=utc_times(posts["time"]),
        sender_address=format_tables(policy.path)["service_communications"]["senders"][source],
        source=source,
        category=_category(posts["category"], policy),
        product=family_of_services(services, policy),
    )
    posts = reject_bad_times(posts, posts["time"], time_label).drop(columns="time")
    rows = posts.merge(pd.DataFrame({"customer_id": customers}, dtype="str"), how="cross")
    domain = rows["customer_id"].str.lower().str.replace(_NOT_IN_DOMAIN, "-", regex=True)
    return reject_unusable(rows.assign(recipient_address=domain.map(TENANT_RECIPIENT.format)))


def _html(value: Any) -> str | None:
    """The content of a Graph ``itemBody`` (``{content, contentType}``) or a plain string."""
    return value.get("content") if isinstance(value, dict) else value


def _published(items: list[dict[str, Any]]) -> pd.Series:
    """When a post went out: ``startDateTime``, else ``lastModifiedDateTime``."""
    return pd.Series([item.get("startdatetime") or item.get("lastmodifieddatetime") for item in items], dtype="str")


def _issue_text(item: dict[str, Any]) -> str:
    """A health issue's impact description and its posts' descriptions, in order."""
    posts = [_html(post.get("description")) for post in item.get("posts") or []]
    return "\n\n".join(text for text in [item.get("impactdescription"), *posts] if text)


is_message_center = _sniffer('"actionrequiredbydatetime"', '"ismajorchange"', "serviceannouncement/messages")


def read_message_center(path: Path, customer_ids: Sequence[str] = (), policy: Policy | None = None) -> pd.DataFrame:
    """Message center posts: title as subject, body (HTML) as body, the Graph category, and the
    services' family; published at ``startDateTime`` (else ``lastModifiedDateTime``)."""
    items = read_json_items(path)
    posts = items_frame(items, {"message_id": "id", "subject": "title", "category": "category"}).assign(
        body=pd.Series([_html(item.get("body")) for item in items], dtype="str"),
        time=_published(items),
    )
    services = pd.Series([item.get("services") or [] for item in items], dtype=object)
    return tenant_rows(posts, services, "startDateTime", "message_center", customer_ids, path, policy)


is_service_health = _sniffer('"impactdescription"', '"featuregroup"', "serviceannouncement/issues")


def read_service_health(path: Path, customer_ids: Sequence[str] = (), policy: Policy | None = None) -> pd.DataFrame:
    """Service health issues: title as subject; the impact description and every post's
    description as body; the classification (``incident``, ``advisory``) as category."""
    items = read_json_items(path)
    issues = items_frame(items, {"message_id": "id", "subject": "title", "category": "classification"}).assign(
        body=pd.Series([_issue_text(item) for item in items], dtype="str"),
        time=_published(items),
    )
    services = pd.Series([[item["service"]] if item.get("service") else [] for item in items], dtype=object)
    return tenant_rows(issues, services, "startDateTime", "service_health", customer_ids, path, policy)

"""The message log formats auditlib reads, registered here explicitly, in the order a shared
suffix is tried (a ``.csv`` is a canonical log unless an export's sniffer claims it); JSON
exports are told by their keys alone, so JSON no reader knows is refused saying what it holds.

``canonical``: SPEC §2.1 logs (CSV, Parquet, JSON Lines); ``exchange``: Exchange Online
message traces (PowerShell CSV and JSON, Reporting Web Service pages, historical-search reports,
Graph JSON); ``graph``: Microsoft Graph service communications (Message center posts, service
health issues); ``service_comms_api``: the retired Office 365 Service Communications API;
``defender``: Defender ``EmailEvents``; ``azure_health``: Azure Service Health events;
``email_files``: ``.eml`` and mbox files; ``not_messages``: JSON that is no message log, refused.
Every reader returns text columns, canonical names, ``source`` filled for exports, and marks the
rows it cannot use with a reason rather than dropping them.
"""
from __future__ import annotations

from . import azure_health, canonical, defender, email_files, exchange, graph, not_messages, service_comms_api
from .base import FORMATS, RECORD, REJECT_REASON, Format, Reader, detect_format, refusal, register_format

TENANT_OPTIONS = ("customer_ids", "policy")  # feeds addressed to a tenant, mapped through the policy's tables


def register_builtin_formats() -> None:
    """Register the formats auditlib ships with (idempotent)."""
    register_format("csv", suffixes=(".csv",))(canonical.read_csv)
    register_format("parquet", suffixes=(".parquet", ".pq"), sniff=canonical.is_parquet)(canonical.read_parquet)
    register_format("jsonl", suffixes=(".jsonl", ".ndjson"), sniff=canonical.is_jsonl)(canonical.read_jsonl)
    register_format("eml", suffixes=(".eml",), sniff=email_files.looks_like_message)(email_files.read_eml)
    register_format("mbox", suffixes=(".mbox", ".mbx"), sniff=email_files.is_mbox)(email_files.read_mbox)
    register_format("exchange-message-trace", suffixes=(".csv",), sniff=exchange.is_message_trace,
                    options=("day_first",))(exchange.read_message_trace)
    register_format("exchange-historical-search", suffixes=(".csv",), sniff=exchange.is_historical_search,
                    options=("day_first",))(exchange.read_historical_search)
    register_format("exchange-message-trace-json", sniff=exchange.is_message_trace_json)(exchange.read_message_trace_json)
    register_format("graph-message-trace", sniff=exchange.is_graph_message_trace)(exchange.read_graph_message_trace)
    register_format("graph-message-center", sniff=graph.is_message_center, options=TENANT_OPTIONS)(graph.read_message_center)
    register_format("graph-service-health", sniff=graph.is_service_health, options=TENANT_OPTIONS)(graph.read_service_health)
    register_format("office365-service-communications", sniff=service_comms_api.is_service_comms_messages,
                    options=TENANT_OPTIONS)(service_comms_api.read_service_comms_messages)
    register_format("defender-email-events", suffixes=(".csv",), sniff=defender.is_email_events_csv)(defender.read_email_events_csv)
    register_format("defender-email-events-json", sniff=defender.is_email_events_json)(defender.read_email_events_json)
    register_format("azure-service-health", sniff=azure_health.is_azure_service_health,
                    options=TENANT_OPTIONS)(azure_health.read_azure_service_health)
    for kind in not_messages.KINDS:
        register_format(kind.name, sniff=kind.sniff)(refusal(kind.what))


register_builtin_formats()

__all__ = ["FORMATS", "RECORD", "REJECT_REASON", "Format", "Reader", "detect_format", "register_format",
           "register_builtin_formats"]

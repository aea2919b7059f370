"""The message log formats auditlib reads, registered here explicitly, in the order a shared
suffix is tried (a ``.csv`` is a canonical log unless an export's sniffer claims it).

``canonical``: SPEC §2.1 logs (CSV, Parquet, JSON Lines); ``exchange``: Exchange Online
message traces (PowerShell CSV, historical-search reports, Graph JSON); ``graph``: Microsoft
Graph service communications (Message center posts, service health issues); ``email_files``:
``.eml`` and mbox files. Every reader returns text columns, canonical names, ``source``
filled for exports, and marks the rows it cannot use with a reason rather than dropping them.
"""
from __future__ import annotations

from . import canonical, email_files, exchange, graph
from .base import FORMATS, RECORD, REJECT_REASON, Format, Reader, detect_format, register_format


def register_builtin_formats() -> None:
    """Register the formats auditlib ships with (idempotent)."""
    register_format("csv", suffixes=(".csv",))(canonical.read_csv)
    register_format("parquet", suffixes=(".parquet", ".pq"), sniff=canonical.is_parquet)(canonical.read_parquet)
    register_format("jsonl", suffixes=(".jsonl", ".ndjson"), sniff=canonical.is_jsonl)(canonical.read_jsonl)
    register_format("eml", suffixes=(".eml",), sniff=email_files.looks_like_message)(email_files.read_eml)
    register_format("mbox", suffixes=(".mbox", ".mbx"), sniff=email_files.is_mbox)(email_files.read_mbox)
    register_format("exchange-message-trace", suffixes=(".csv",), sniff=exchange.is_message_trace)(exchange.read_message_trace)
    register_format("exchange-historical-search", suffixes=(".csv",),
                    sniff=exchange.is_historical_search)(exchange.read_historical_search)
    register_format("graph-message-trace", suffixes=(".json",),
                    sniff=exchange.is_graph_message_trace)(exchange.read_graph_message_trace)
    register_format("graph-message-center", suffixes=(".json",), sniff=graph.is_message_center,
                    options=("customer_ids",))(graph.read_message_center)
    register_format("graph-service-health", suffixes=(".json",), sniff=graph.is_service_health,
                    options=("customer_ids",))(graph.read_service_health)


register_builtin_formats()

__all__ = ["FORMATS", "RECORD", "REJECT_REASON", "Format", "Reader", "detect_format", "register_format",
           "register_builtin_formats"]

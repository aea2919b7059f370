"""Readers of the exports analysts really hold, each registered by name on import.

``exchange``: Exchange Online message traces (PowerShell CSV, historical-search reports,
Graph JSON); ``graph``: Microsoft Graph service communications (Message center posts,
service health issues); ``email_files``: ``.eml`` files and mbox files. Every reader returns
the canonical columns of SPEC §2.1 with ``source`` filled, and marks the rows it cannot use
with a reason rather than dropping them.
"""
from . import email_files, exchange, graph

__all__ = ["email_files", "exchange", "graph"]

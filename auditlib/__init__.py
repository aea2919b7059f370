"""auditlib: audit who talks to a Cloud Solution Provider's customers.

The stages, each a function from DataFrames to DataFrames::

    read_messages / read_registry  →  resolve  →  classify  →  decide  →  (summaries, reports)

``audit(messages, registry)`` runs them all and returns one verdict row per message
row (SPEC §5).
"""
from .audit import AuditRun, audit, audit_files, run_audit
from .classify import classify, classify_texts
from .decide import decide
from .errors import InputError
from .policy import Policy, load_policy
from .io.formats import register_format
from .io.log import MessageLog, read_log, read_messages
from .io.registry_files import read_registry
from .registry import Registry
from .resolve import resolve
from .schema import MESSAGE_COLUMNS, VERDICT_COLUMNS
from .io.tables import write_table

__all__ = [
    "audit", "audit_files", "run_audit", "AuditRun", "read_log", "MessageLog", "classify", "classify_texts", "decide", "resolve",
    "read_messages", "read_registry", "register_format", "write_table",
    "Registry", "Policy", "load_policy", "InputError", "MESSAGE_COLUMNS", "VERDICT_COLUMNS",
]

"""JSON files analysts hold beside their message logs that are no message log: each is
recognised by its keys and refused with one line saying what it is (and, for Partner Center
exports, where it belongs), never half-read into rejected rows."""
from __future__ import annotations

from dataclasses import dataclass

from .common import head_text


@dataclass(frozen=True)
class NotMessages:
    name: str
    keys: tuple[str, ...]  # lower-cased JSON keys, all present in the file's first bytes
    what: str  # the line refusing it

    def sniff(self, head: bytes) -> bool:
        text = head_text(head).lstrip("\ufeff \t\r\n").lower()
        return text[:1] in ("{", "[") and all(f'"{key}"' in text for key in self.keys)


_REGISTRY = "a registry input (auditlib registry from-partner-center {}), not a message log"
KINDS = (
    NotMessages("office-365-management-activity", ("creationtime", "operation", "recordtype"),
                "Office 365 Management Activity audit records (CreationTime, Operation, RecordType, e.g. DLP rule "
                "matches): an audit log of actions, not a message log"),
    NotMessages("partner-center-customers", ("companyprofile",),
                "a Partner Center customers export: " + _REGISTRY.format("--customers")),
    NotMessages("partner-center-subscriptions", ("commitmentenddate",),
                "a Partner Center subscriptions export: " + _REGISTRY.format("--subscriptions")),
    NotMessages("partner-center-relationships", ("relationshiptype",),
                "a Partner Center partner relationships export: " + _REGISTRY.format("--resellers")),
)

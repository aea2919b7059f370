"""File names made from data (partner ids): safe on every file system and one per id."""
from __future__ import annotations

import hashlib
import re


def safe_name(partner_id: str) -> str:
    """A file-name stem for a partner id: its ``[A-Za-z0-9_-]`` characters (at most 40), then
    always a digest of the id itself. Two ids never share a stem, whatever they look like
    (``../x`` and ``x-<digest>``, ``P1`` and ``p1`` on a case-insensitive disk), and no stem is
    a Windows device name (``CON`` becomes ``CON-<digest>``, which Windows allows) or starts with a dot."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", partner_id).strip("_-")[:40] or "partner"
    return f"{stem}-{hashlib.sha256(partner_id.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"

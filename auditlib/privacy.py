"""``--mask-recipients``: recipient addresses replaced by a stable keyed hash, so a report can
go to a partner without naming mailboxes.

The key is a secret from the environment (``AUDITLIB_MASK_KEY``), never from the repository:
without it nobody can test a guessed address against a masked one; with the same key the
same mailbox always gets the same mask, so runs and reports can be compared. The domain is
kept so analysts still see which tenant a row concerns.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from typing import Mapping

import pandas as pd

from .errors import InputError
from .frames import distinct_rows, expand, per_distinct

MASK_KEY_ENV = "AUDITLIB_MASK_KEY"
MASK_HEX = 12  # 48 bits: among 100,000 mailboxes of one domain, a shared mask has odds of about 2 in 100,000


def mask_key(environ: Mapping[str, str] = os.environ) -> bytes:
    """The masking key from the environment; an InputError when it is unset or empty."""
    key = environ.get(MASK_KEY_ENV, "")
    if not key:
        raise InputError("(environment)", f"--mask-recipients needs a secret key in the {MASK_KEY_ENV} environment variable")
    return key.encode("utf-8")


def mask_address(address: str, key: bytes) -> str:
    """``<HMAC-SHA256 of the lower-cased address, first 12 hex>@<domain>``; text without ``@`` gets no domain."""
    digest = hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()[:MASK_HEX]
    local, at, domain = address.strip().rpartition("@")
    return f"{digest}@{domain.lower()}" if at else digest


def mask_addresses(addresses: pd.Series, key: bytes) -> pd.Series:
    """Each address masked (once per distinct address); missing stays missing."""
    return per_distinct(addresses, lambda unique: unique.map(lambda a: mask_address(a, key))).astype("str")


def mask_recipients(frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """A verdict or rejected-row frame with ``recipient_address`` masked, also where its ``reason``
    quotes it (a recipient no customer matches; an unusable address)."""
    if "recipient_address" not in frame:
        return frame
    recipient = frame["recipient_address"].astype("str")
    masked = mask_addresses(recipient, key)
    if "reason" not in frame:
        return frame.assign(recipient_address=masked)
    pairs = pd.DataFrame({"reason": frame["reason"].astype("str"), "raw": recipient, "masked": masked})
    codes, unique = distinct_rows(pairs, ["reason", "raw", "masked"])
    reasons = [r if pd.isna(r) or pd.isna(a) else _masked_in(r, a, m) for r, a, m in unique.itertuples(index=False)]
    return frame.assign(recipient_address=masked, reason=pd.Series(expand(pd.Series(reasons, dtype="str"), codes),
                                                                   index=frame.index).astype("str"))


def _masked_in(reason: str, raw: str, masked: str) -> str:
    """A reason with the recipient replaced where it is quoted (``'raw'``) or, for an address, anywhere."""
    reason = reason.replace(repr(raw), repr(masked))
    return reason.replace(raw, masked) if "@" in raw else reason

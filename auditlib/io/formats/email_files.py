"""E-mail files: single messages (``.eml``, or any file that starts like one) and mbox files.

Parsed with the standard library's ``email`` package (``email.policy.default``), one message
at a time: From's address (not its display name), one row per To and Cc recipient, Date
in UTC, Message-ID (a stable hash of the message when it has none), the Subject with its
RFC 2047 words decoded, and the body from text/plain, else from text/html stripped to text.
``sender_authenticated`` comes from the receiving side's ``Authentication-Results``
(:mod:`.authentication`). A message that cannot be audited (no From address, no recipient, no usable Date) is rejected
with its reason: once per recipient it names, once if it names none.

mbox follows the format's own rule that a line starting ``From `` starts a message, so an
unescaped ``From `` line in a body splits it; the fragment is rejected (no From), not lost.
"""
from __future__ import annotations

import email
import hashlib
import mailbox
import re
from datetime import timezone
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from .authentication import header_results, verdict
from .base import RECORD, REJECT_REASON
from .common import reject_unusable

_HEADER_BLOCK = re.compile(rb"^(?:[!-9;-~]+:[^\n]*\n(?:[ \t][^\n]*\n)*)+", re.MULTILINE)
_KNOWN_HEADER = re.compile(rb"^(?:from|to|subject|date|received|return-path|message-id|mime-version):", re.IGNORECASE | re.MULTILINE)


def looks_like_message(head: bytes) -> bool:
    """Starts with RFC 5322 header lines, one of them a header every message has."""
    block = _HEADER_BLOCK.match(head.replace(b"\r\n", b"\n"))
    return bool(block and _KNOWN_HEADER.search(block.group()))


class _TextOfHtml(HTMLParser):
    """Visible text of an HTML document; block elements end lines, scripts and styles are skipped."""

    BLOCKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"})
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        self.hidden += tag in self.HIDDEN
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in self.HIDDEN and self.hidden > 0
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of ``html``, runs of spaces collapsed, one blank line at most."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = re.sub(r"[ \t\r\f\v\xa0]+", " ", "".join(parser.parts))
    return re.sub(r"\s*\n\s*(?:\n\s*)*", "\n", text).strip()


def _text(value: str) -> str:
    """Header or body text with undecodable bytes (kept by ``email`` as surrogates) made printable."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    """The distinct addr-specs (case-insensitively) of the named address headers, in order."""
    found: dict[str, str] = {}
    for name in names:
        for header in message.get_all(name, []):
            for address in getattr(header, "addresses", ()):
                if address.username and address.domain:
                    found.setdefault(address.addr_spec.lower(), _text(address.addr_spec))
    return list(found.values())


def _sent_at(message: EmailMessage) -> tuple[str | None, str | None]:
    """(Date in UTC as ISO 8601, None) or (None, why it cannot be used); a ``-0000`` zone is UTC."""
    header = message["date"]
    if header is None:
        return None, "no Date header"
    when = header.datetime
    if when is None:
        return None, f"Date {_text(str(header))!r} is not a date and time"
    utc = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ"), None


def _body(message: EmailMessage) -> str | None:
    """The text/plain body, else the text/html one as text; None when the message has neither."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return None
    content = _text(_decoded(part))
    return html_to_text(content) if part.get_content_subtype() == "html" else content


def _decoded(part: EmailMessage) -> str:
    """A text part in its declared charset; as UTF-8 (bad bytes replaced) when Python does not know that charset."""
    try:
        return part.get_content()
    except LookupError:
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace").replace("\r\n", "\n")


def _message_id(message: EmailMessage, sender: str, recipients: list[str], subject: str, body: str | None) -> str:
    """Its Message-ID, or a hash of what identifies it, so re-reading the file gives the same id."""
    given = _text(str(message["message-id"] or "")).strip()
    if given:
        return given
    facts = "\x00".join([sender, *recipients, str(message["date"] or ""), subject, body or ""])
    return f"<{hashlib.sha256(facts.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}@auditlib.invalid>"


def _authenticated(message: EmailMessage) -> str | None:
    """The receiving organisation's verdict on the From domain: its ``Authentication-Results``
    (the topmost naming a result, the last one added), else the first ``ARC-Authentication-Results``."""
    for name in ("authentication-results", "arc-authentication-results"):
        for header in message.get_all(name, []):
            results = header_results(_text(str(header)))
            if results:
                return verdict(results)
    return None


def message_rows(message: EmailMessage, record: int | str) -> list[dict]:
    """One row per To and Cc recipient of a parsed message (one row if it names none)."""
    senders = _addresses(message, "from")
    recipients = _addresses(message, "to", "cc")
    sent_at, date_problem = _sent_at(message)
    problem = (
        ("no From address" if message["from"] is None else f"From {_text(str(message['from']))!r} has no address")
        if not senders else "no To or Cc recipient address" if not recipients else date_problem
    )
    subject = _text(str(message["subject"] or ""))
    body = _body(message)
    sender = senders[0] if senders else None
    common = {
        "message_id": _message_id(message, sender or "", recipients, subject, body), "sent_at": sent_at,
        "sender_address": sender, "subject": subject, "body": body, "source": "email",
        "sender_authenticated": _authenticated(message), RECORD: record, REJECT_REASON: problem,
    }
    return [{**common, "recipient_address": recipient} for recipient in recipients or [None]]


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=[
        "message_id", "sent_at", "sender_address", "recipient_address", "subject", "body", "source", "sender_authenticated",
        RECORD, REJECT_REASON,
    ])
    text = [c for c in frame.columns if c != RECORD]
    return reject_unusable(frame.astype(dict.fromkeys(text, "str")))


def _parse(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=default)


def read_eml(path: Path) -> pd.DataFrame:
    """One RFC 5322 message per file."""
    return _frame(message_rows(_parse(path.read_bytes()), 1))


def is_mbox(head: bytes) -> bool:
    return head.startswith(b"From ")


def read_mbox(path: Path) -> pd.DataFrame:
    """An mbox file; ``record`` is the message's 1-based position in it."""
    box = mailbox.mbox(path, create=False)
    try:
        return _frame([row for number, key in enumerate(box.iterkeys(), start=1)
                       for row in message_rows(_parse(box.get_bytes(key)), number)])
    finally:
        box.close()

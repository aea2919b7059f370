"""What the export readers share: decoding, JSON and CSV loading, times, and rejecting rows with a reason.

Exports are messier than canonical logs (a trace row without a sender, a mailbox message
without a date), so the readers mark such rows rejected with the reason instead of letting
one bad row sink the whole file (SPEC §5: rows in = verdict rows + rejected rows).
"""
from __future__ import annotations

import json
import tomllib
import warnings
from functools import cache
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from ...errors import InputError
from ...policy import DEFAULT_POLICY_PATH
from ...schema import ADDRESS_PATTERN
from .base import RECORD, REJECT_REASON
from .text import encoding_of


# Windows PowerShell's Export-Csv writes this line first unless given -NoTypeInformation.
_POWERSHELL_TYPE_LINE = "#TYPE "

# Culture-dependent times of PowerShell exports, tried in order after ISO 8601: en-US,
# then day-first (en-GB and most others), then the dotted form (de-DE). All are UTC.
EXPORT_TIME_FORMATS = ("ISO8601", "%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S")


def head_text(head: bytes) -> str:
    """A file's first bytes as text for sniffing (a character cut at the end is dropped)."""
    return head.decode(encoding_of(head), errors="ignore")


def header_names(head: bytes) -> set[str]:
    """The lower-cased column names of a CSV file's header line, from its first bytes."""
    lines = head_text(head).lstrip("\ufeff").splitlines()
    if lines and lines[0].startswith(_POWERSHELL_TYPE_LINE):
        lines = lines[1:]
    return {name.strip().strip('"').strip().lower() for name in lines[0].split(",")} if lines else set()


def read_export_csv(path: Path) -> pd.DataFrame:
    """A CSV export with every column as text (empty cells ''), header names lower-cased.

    UTF-8 or UTF-16 (by byte-order mark); a PowerShell ``#TYPE`` line is skipped.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    encoding = encoding_of(head)
    skip = 1 if head_text(head).lstrip("\ufeff").startswith(_POWERSHELL_TYPE_LINE) else 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a row longer than the header loses data
            frame = pd.read_csv(path, encoding=encoding, dtype="str", keep_default_na=False, skiprows=skip, index_col=False)
    except UnicodeDecodeError as err:
        raise InputError(str(path), f"not {encoding} text (byte offset {err.start})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, pd.errors.ParserWarning) as err:
        raise InputError(str(path), f"unreadable CSV: {err}") from None
    return frame.rename(columns=lambda c: str(c).strip().lower())


def read_json_items(path: Path) -> list[dict[str, Any]]:
    """The objects of a Graph-style JSON file, keys lower-cased (camelCase API and PascalCase
    PowerShell exports alike): a page's ``value`` array, a bare array, or one object."""
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode(encoding_of(raw[:4])))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(str(path), f"unreadable JSON: {err}") from None
    data = _lower_keys(data)
    items = data.get("value", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InputError(str(path), "expected a JSON object, an array of objects, or a page with a 'value' array")
    return items


def _lower_keys(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(key).lower(): _lower_keys(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_lower_keys(value) for value in data]
    return data


def items_frame(items: list[dict[str, Any]], fields: Mapping[str, str]) -> pd.DataFrame:
    """Columns ``fields`` (column -> lower-cased key) of JSON objects as text, with each object's ``record``."""
    def text(value: Any) -> str | None:
        return value if value is None or isinstance(value, str) else str(value)

    frame = pd.DataFrame({column: pd.Series([text(item.get(key)) for item in items], dtype="str") for column, key in fields.items()})
    return frame.assign(**{RECORD: range(1, len(items) + 1)})


def utc_times(values: pd.Series, formats: tuple[str, ...] = EXPORT_TIME_FORMATS) -> pd.Series:
    """Text times as ISO 8601 UTC text, trying ``formats`` in order; missing where none fits.

    A time without an offset is UTC (Exchange and Graph report UTC).
    """
    out = pd.Series(pd.NA, index=values.index, dtype="str")
    text = values.astype("str").str.strip().replace("", pd.NA)
    for fmt in formats:
        todo = out.isna() & text.notna()
        if not todo.any():
            break
        out[todo] = pd.to_datetime(text[todo], utc=True, format=fmt, errors="coerce").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return out


def reject(frame: pd.DataFrame, where: pd.Series, reason: str | pd.Series) -> pd.DataFrame:
    """Mark the rows ``where`` is true rejected with ``reason``; a row keeps the first reason it got."""
    current = frame[REJECT_REASON] if REJECT_REASON in frame else pd.Series(pd.NA, index=frame.index, dtype="str")
    return frame.assign(**{REJECT_REASON: current.mask(current.isna() & where.fillna(False), reason)})


def reject_bad_times(frame: pd.DataFrame, raw: pd.Series, label: str) -> pd.DataFrame:
    """Reject rows whose ``sent_at`` could not be read from ``raw``, quoting the value."""
    missing = raw.astype("str").str.strip().fillna("") == ""
    frame = reject(frame, missing, f"no {label}")
    bad = frame["sent_at"].isna()
    return reject(frame, bad, _quoting(raw, bad, f"{label} {{}} is not a date and time"))


def reject_unusable(frame: pd.DataFrame) -> pd.DataFrame:
    """Reject rows a canonical log could not hold: no message id, no usable sender or recipient
    address, or a repeat of an earlier row's (message id, recipient) in the same file."""
    frame = reject(frame, _blank(frame["message_id"]), "no message id")
    for column, what in (("sender_address", "sender"), ("recipient_address", "recipient")):
        address = frame[column].astype("str").str.strip()
        frame = reject(frame.assign(**{column: address}), _blank(address), f"no {what} address")
        bad = ~address.str.match(ADDRESS_PATTERN).fillna(False)
        frame = reject(frame, bad, _quoting(address, bad, f"{what} {{}} is not an e-mail address"))
    key = (frame["message_id"].str.strip() + "\x00" + frame["recipient_address"].str.lower()).where(frame[REJECT_REASON].isna())
    repeat = key.notna() & key.duplicated()
    first = pd.Series(frame[RECORD].astype("str").to_numpy(), index=key.to_numpy())
    first = first[first.index.notna() & ~first.index.duplicated()]
    return reject(frame, repeat, "repeats the message and recipient of record " + key.map(first).astype("str"))


def _quoting(values: pd.Series, rows: pd.Series, template: str) -> pd.Series:
    """``template`` with each of ``rows``' value quoted (the reason of a rejected row); built only
    for those rows, not for the whole log."""
    quoted = values[rows.fillna(False)].astype("str").map(repr)
    return quoted.map(template.format).reindex(values.index)


def _blank(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().fillna("") == ""


@cache
def format_tables(path: Path = DEFAULT_POLICY_PATH) -> dict[str, Any]:
    """The policy file's tables for the export readers and the registry builder (service and
    offer names to product families, Microsoft's feed senders)."""
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    return {"service_communications": raw["service_communications"], "partner_center": raw["partner_center"]}

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

from ...errors import InputError, InputWarning
from ...policy import DEFAULT_POLICY_PATH
from ...schema import ADDRESS_PATTERN
from .base import RECORD, REJECT_REASON
from .text import encoding_of

# Windows PowerShell's Export-Csv writes this line first unless given -NoTypeInformation.
_POWERSHELL_TYPE_LINE = "#TYPE "

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
    return skip_blank_rows(frame.rename(columns=lambda c: str(c).strip().lower()), path)


def skip_blank_rows(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The rows with a non-blank cell, each keeping its index (its position in the file). A
    spreadsheet re-saving an export writes empty rows as ``,,,,`` lines: no message, so they are
    left out, not rejected one by one; how many is warned (the run's warnings and manifest keep it)."""
    cells = frame.drop(columns=[REJECT_REASON], errors="ignore")
    if cells.empty:
        return frame
    candidates = _blank(cells.iloc[:, 0])  # cheap first look: a blank row's first cell is blank
    if not candidates.any():
        return frame
    blank = cells[candidates].apply(_blank).all(axis=1).reindex(frame.index, fill_value=False)
    if blank.any():
        warnings.warn(InputWarning(f"{path}: {int(blank.sum())} blank rows skipped"), stacklevel=2)
    return frame[~blank]


def read_json_items(path: Path) -> list[dict[str, Any]]:
    """The objects of an export's JSON file, keys lower-cased (camelCase API and PascalCase
    PowerShell exports alike): a page's ``value`` (Graph, OData), ``items`` (Partner Center) or
    ``records`` array, a bare array, one object, or one object per line (NDJSON, as log shippers write)."""
    raw = path.read_bytes()
    try:
        text = raw.decode(encoding_of(raw[:4]))
    except UnicodeDecodeError as err:
        raise InputError(str(path), f"unreadable JSON: not UTF-8 text (byte offset {err.start})") from None
    data = _lower_keys(_json_document(text, path))
    items = _page_items(data) if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise InputError(str(path), "expected a JSON object, an array of objects, or a page with a 'value' or 'items' array")
    return items


def _json_document(text: str, path: Path) -> Any:
    """One JSON document, or the list of the objects of a file of one JSON object per line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg != "Extra data":
            raise InputError(str(path), f"unreadable JSON: {err}") from None
    except RecursionError:
        raise InputError(str(path), "unreadable JSON: nested too deeply") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    try:
        return [json.loads(line) for _, line in lines]
    except json.JSONDecodeError:
        number = next(n for n, line in lines if not _parses(line))
        raise InputError(str(path), "unreadable JSON: a line of this one-object-per-line file is not JSON", row=number) from None


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _page_items(page: dict[str, Any]) -> Any:
    """A page's objects: its ``value`` or ``items`` array (``records``: Azure diagnostic exports);
    a dict without one is itself the object."""
    return next((page[key] for key in ("value", "items", "records") if isinstance(page.get(key), list)), [page])


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

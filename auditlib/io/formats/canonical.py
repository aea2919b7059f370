"""Readers of the canonical log (SPEC §2.1) in its three formats: CSV, Parquet and JSON Lines.
Every column is read as text; the log module validates and normalises it."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from ...errors import InputError
from ...schema import MESSAGE_COLUMNS
from .base import RECORD, REJECT_REASON
from .common import skip_blank_rows
from .text import text_encoding


def _arrow_text_table(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas().astype("str")


CSV_BLOCK_BYTES = 64 << 20  # pyarrow parses a CSV in blocks a whole row must fit in (a 1 MB subject, an HTML body)


def read_csv(path: Path) -> pd.DataFrame:
    """CSV in any encoding :func:`text_encoding` tells; every column read as text.

    A row with more or fewer fields than the header is rejected with its record number (a
    reader cannot know which value is which); a quote opened and never closed is an error.
    """
    encoding, quotes = text_encoding(path)
    with path.open(encoding=encoding, newline="") as fh:
        columns = next(csv.reader(fh), [])
    if not any(c.strip() for c in columns):
        raise InputError(str(path), "empty file: no header row")
    ragged = []
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding="utf8" if encoding.startswith("utf-8") else encoding,
                                           block_size=CSV_BLOCK_BYTES),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in columns}, strings_can_be_null=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=lambda row: ragged.append(row) or "skip"),
        )
    except pa.ArrowInvalid as err:
        raise InputError(str(path), f"unreadable CSV: {err}") from None
    # pyarrow names neither the records it skipped nor a quote left open: the exact reader does
    frame = _read_csv_slowly(path, encoding) if ragged or quotes % 2 else _arrow_text_table(table)
    frame = skip_blank_rows(frame, path)
    return frame.assign(**{RECORD: frame.index + 1})


def _read_csv_slowly(path: Path, encoding: str) -> pd.DataFrame:
    """The exact reader, for the rare file pyarrow cannot take whole: rows with the wrong number
    of fields are kept, padded or cut to the header, with a rejection reason."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_BLOCK_BYTES))  # the default, 128 KiB, is a short HTML body
    rows, reasons, line = [], [], 1
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, strict=True)
        header = next(reader)
        width = len(header)
        try:
            for fields in reader:
                reasons.append(None if len(fields) == width else f"{len(fields)} fields where the header has {width}")
                rows.append((fields + [""] * width)[:width])
                line = reader.line_num
        except csv.Error as err:
            raise InputError(str(path), f"unreadable CSV ({err}): a quote opened at line {line + 1} is never closed"
                             if "end of data" in str(err) else f"unreadable CSV: {err}", row=len(rows) + 1) from None
    frame = pd.DataFrame(rows, columns=header, dtype="str") if rows else pd.DataFrame(columns=header, dtype="str")
    return frame.assign(**{REJECT_REASON: pd.Series(reasons, index=frame.index, dtype="str")})


def is_parquet(head: bytes) -> bool:
    return head[:4] == b"PAR1"


def read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet log; every column must hold scalars (text, numbers, times), not lists or structs."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(str(path), f"unreadable Parquet: {err}") from None
    check_flat(table.schema, str(path))
    return table.to_pandas()


def check_flat(schema: pa.Schema, file: str) -> None:
    """A list, map or struct column cannot be a message field (a recipient is one address)."""
    nested = next((f for f in schema if pa.types.is_nested(f.type)), None)
    if nested is not None:
        raise InputError(file, f"a {nested.type} column; message fields hold single values", column=nested.name)


# A canonical JSON Lines file names these keys on its first line; an export's JSON (a trace,
# an audit log) starts with "{" too, so the brace alone would claim files that are no log.
_CANONICAL_KEYS = (b'"message_id"', b'"sent_at"', b'"recipient_address"')


def is_jsonl(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start[:1] == b"{" and any(key in start.lower() for key in _CANONICAL_KEYS)


def read_jsonl(path: Path) -> pd.DataFrame:
    """JSON Lines, one object per message; canonical fields are read as text."""
    schema = pa.schema([(c, pa.string()) for c in MESSAGE_COLUMNS])
    try:
        table = pajson.read_json(
            path, parse_options=pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        )
        return _arrow_text_table(table)
    except pa.ArrowInvalid:
        return _read_jsonl_slowly(path)


def _read_jsonl_slowly(path: Path) -> pd.DataFrame:
    """The exact reader, for files Arrow rejects: finds the bad line, accepts numbers as ids.

    As in the fast path, a canonical field absent from every object is an empty column.
    """
    records = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as err:
                raise InputError(str(path), f"not UTF-8 text: undecodable byte at offset {err.start} of the line", row=number) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(str(path), f"invalid JSON ({err.msg})", row=number) from None
            except RecursionError:
                raise InputError(str(path), "JSON nested too deeply", row=number) from None
            if not isinstance(record, dict):
                raise InputError(str(path), "a line is not a JSON object", row=number)
            nested = next((k for k, v in record.items() if isinstance(v, (dict, list)) and k.strip().lower() in MESSAGE_COLUMNS), None)
            if nested is not None:
                raise InputError(str(path), "a JSON array or object where one value belongs", row=number, column=nested)
            records.append({k: v if v is None or isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in record.items()})
    frame = pd.DataFrame.from_records(records)
    return frame.reindex(columns=list(dict.fromkeys([*MESSAGE_COLUMNS, *frame.columns])))

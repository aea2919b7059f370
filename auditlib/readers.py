"""Read message logs in any registered format into the canonical frame of SPEC §2.1.

Formats are registered by name with the file suffixes they claim and an optional
content sniffer, like papermill's I/O handlers: adding a format (an Exchange trace
export, Graph JSON, mbox) is one decorated function, never a new branch here.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from .errors import InputError
from .policy import Policy, load_policy
from .schema import MESSAGE_COLUMNS, message_schema, validate

Reader = Callable[[Path], pd.DataFrame]


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]
    read: Reader
    sniff: Callable[[bytes], bool] | None = None  # given the file's first bytes


FORMATS: dict[str, Format] = {}


def register_format(name: str, suffixes: Iterable[str] = (), sniff: Callable[[bytes], bool] | None = None):
    """Register ``read(path) -> DataFrame of text columns`` as the reader of a format."""

    def decorate(read: Reader) -> Reader:
        FORMATS[name] = Format(name, tuple(s.lower() for s in suffixes), read, sniff)
        return read

    return decorate


def detect_format(path: Path) -> Format:
    """The format claiming the file's suffix, else the first whose sniffer accepts its head."""
    suffix = "".join(path.suffixes[-1:]).lower()
    for fmt in FORMATS.values():
        if suffix in fmt.suffixes:
            return fmt
    head = path.open("rb").read(4096)
    for fmt in FORMATS.values():
        if fmt.sniff and fmt.sniff(head):
            return fmt
    known = sorted({s for f in FORMATS.values() for s in f.suffixes})
    raise InputError(str(path), f"unrecognised message log format (known: {', '.join(known)})")


def read_messages(paths: str | Path | Iterable[str | Path], policy: Policy | None = None) -> pd.DataFrame:
    """Read, validate and normalise one or more message logs into one canonical frame.

    Raises :class:`InputError` naming file, row and column for unusable input.
    """
    policy = policy or load_policy()
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise InputError("(no files)", "no message log was given")
    frames = [read_message_file(Path(p), policy) for p in paths]
    messages = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    _check_unique_keys(messages, frames, paths)
    return messages


def read_message_file(path: Path, policy: Policy | None = None) -> pd.DataFrame:
    """One file, any registered format, as a validated canonical frame."""
    policy = policy or load_policy()
    if not path.is_file():
        raise InputError(str(path), "no such file")
    raw = detect_format(path).read(path)
    return canonical_messages(raw, str(path), policy)


def canonical_messages(raw: pd.DataFrame, file: str, policy: Policy | None = None) -> pd.DataFrame:
    """Validate a frame of text columns and normalise it: UTC times, empty optionals as missing."""
    policy = policy or load_policy()
    raw = raw.rename(columns=lambda c: str(c).strip().lower()).reset_index(drop=True)
    raw = _to_text(raw)
    for column in ("body", "customer_id", "source", "category", "product", "language"):
        if column in raw:
            raw[column] = raw[column].str.strip().replace("", pd.NA)
    raw["subject"] = raw["subject"].fillna("") if "subject" in raw else raw.get("subject")
    validate(raw, message_schema(policy), file)
    out = raw.reindex(columns=list(MESSAGE_COLUMNS))
    out["sent_at"] = parse_utc(raw["sent_at"], file, "sent_at")
    for column in MESSAGE_COLUMNS:
        if column != "sent_at":
            out[column] = out[column].astype("string[pyarrow]")
    return out


def parse_utc(values: pd.Series, file: str, column: str) -> pd.Series:
    """ISO 8601 text or timestamps as UTC instants; an offset is honoured, a naive time is UTC."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC")
    parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna() & values.notna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(file, f"{values.iloc[row]!r} is not an ISO 8601 time", row=row + 1, column=column)
    return parsed


def _to_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column except timestamps as text, so validation sees what the file held."""
    def text(col: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            return col
        return col.astype("string").astype("str")

    return frame.apply(text) if len(frame.columns) else frame


def _check_unique_keys(messages: pd.DataFrame, frames: list[pd.DataFrame], paths: list) -> None:
    key = messages["message_id"] + "\x00" + messages["recipient_address"].str.lower()
    dup = key.duplicated()
    if not dup.any():
        return
    at = int(dup.to_numpy().nonzero()[0][0])
    ends = pd.Series([len(f) for f in frames]).cumsum()
    file_no = int((ends <= at).sum())
    row = at - (int(ends.iloc[file_no - 1]) if file_no else 0) + 1
    raise InputError(
        str(paths[file_no]),
        f"message {messages['message_id'].iloc[at]!r} to {messages['recipient_address'].iloc[at]!r} "
        "appears more than once ((message_id, recipient_address) must be unique)",
        row=row,
        column="message_id",
    )


# --------------------------------------------------------------------------- formats


def _arrow_text_table(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}.get)


@register_format("csv", suffixes=(".csv",))
def read_csv(path: Path) -> pd.DataFrame:
    """CSV, UTF-8 with or without BOM; every column read as text."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            columns = next(csv.reader(fh), [])
    except UnicodeDecodeError as err:
        raise InputError(str(path), f"not UTF-8 text (byte offset {err.start})") from None
    if not any(c.strip() for c in columns):
        raise InputError(str(path), "empty file: no header row")
    try:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in columns}, strings_can_be_null=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
        )
    except pa.ArrowInvalid as err:
        raise InputError(str(path), f"unreadable CSV: {err}") from None
    return _arrow_text_table(table)


@register_format("parquet", suffixes=(".parquet", ".pq"), sniff=lambda head: head[:4] == b"PAR1")
def read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(str(path), f"unreadable Parquet: {err}") from None


@register_format("jsonl", suffixes=(".jsonl", ".ndjson"), sniff=lambda head: head.lstrip()[:1] == b"{")
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
    """The exact reader, for files Arrow rejects: finds the bad line, accepts numbers as ids."""
    records = []
    with path.open(encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(str(path), f"invalid JSON ({err.msg})", row=number) from None
            if not isinstance(record, dict):
                raise InputError(str(path), "a line is not a JSON object", row=number)
            records.append({k: v if v is None or isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v) for k, v in record.items()})
    return pd.DataFrame.from_records(records)

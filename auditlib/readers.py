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
from itertools import chain
from typing import Callable, Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from .errors import InputError
from .policy import Policy, load_policy
from .schema import MESSAGE_COLUMNS, message_schema, validate

Reader = Callable[..., pd.DataFrame]  # read(path, **options) -> DataFrame of text columns


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]
    read: Reader
    sniff: Callable[[bytes], bool] | None = None  # given the file's first bytes
    options: tuple[str, ...] = ()  # the reader options (keyword arguments of ``read``) it takes


FORMATS: dict[str, Format] = {}


def register_format(
    name: str,
    suffixes: Iterable[str] = (),
    sniff: Callable[[bytes], bool] | None = None,
    options: Iterable[str] = (),
):
    """Register ``read(path, **options) -> DataFrame of text columns`` as the reader of a format.

    ``options`` names the reader options it takes (``customer_ids`` for a feed addressed to a
    tenant rather than a mailbox); of the options given to :func:`read_log`, only those are passed.
    """

    def decorate(read: Reader) -> Reader:
        FORMATS[name] = Format(name, tuple(s.lower() for s in suffixes), read, sniff, tuple(options))
        return read

    return decorate


def detect_format(path: Path) -> Format:
    """The format the file's content and suffix point to.

    Content decides first, because suffixes are shared (a ``.csv`` may be a canonical log or
    an Exchange trace): a format whose sniffer accepts the file's first bytes and that claims
    its suffix, else any whose sniffer accepts them, else the first claiming the suffix.
    """
    suffix = path.suffix.lower()
    with path.open("rb") as fh:
        head = fh.read(4096)
    sniffed = [fmt for fmt in FORMATS.values() if fmt.sniff and fmt.sniff(head)]
    claimed = [fmt for fmt in FORMATS.values() if suffix in fmt.suffixes]
    fmt = next(chain((f for f in sniffed if f in claimed), sniffed, claimed), None)
    if fmt:
        return fmt
    known = sorted({s for f in FORMATS.values() for s in f.suffixes})
    raise InputError(str(path), f"unrecognised message log format (known: {', '.join(known)})")


REJECT_REASON = "rejected_reason"  # a reader marks a row it cannot use with a reason here
RECORD = "record"  # a reader may say where each row came from (line, record or message number)
REJECTED_COLUMNS = ("file", "record", "message_id", "recipient_address", "reason")


@dataclass(frozen=True)
class MessageLog:
    """What the readers made of the input: canonical rows, and rows rejected with their reasons."""

    messages: pd.DataFrame
    rejected: pd.DataFrame

    @property
    def rows_read(self) -> int:
        return len(self.messages) + len(self.rejected)


def read_log(
    paths: str | Path | Iterable[str | Path],
    policy: Policy | None = None,
    options: Mapping[str, object] | None = None,
) -> MessageLog:
    """Read, validate and normalise message logs (files or folders of them) into one canonical
    frame, keeping rejected rows. ``options`` are reader options (see :func:`register_format`).

    Raises :class:`InputError` naming file, row and column for unusable input.
    """
    policy = policy or load_policy()
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise InputError("(no files)", "no message log was given")
    logs = [read_message_file(Path(p), policy, options) for p in paths]
    frames = [log.messages for log in logs]
    messages = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    _check_unique_keys(messages, frames, paths)
    rejected = pd.concat([log.rejected for log in logs], ignore_index=True)
    return MessageLog(messages, rejected)


def read_messages(
    paths: str | Path | Iterable[str | Path],
    policy: Policy | None = None,
    options: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """The canonical rows of :func:`read_log`; rows a reader rejected are left out (see ``read_log``)."""
    return read_log(paths, policy, options).messages


def read_message_file(
    path: Path, policy: Policy | None = None, options: Mapping[str, object] | None = None
) -> MessageLog:
    """One file (any registered format) or folder, as validated canonical rows and rejected rows."""
    policy = policy or load_policy()
    raw = read_raw(path, options or {}).reset_index(drop=True)
    record = _records(raw)
    reason = raw[REJECT_REASON] if REJECT_REASON in raw else pd.Series(pd.NA, index=raw.index, dtype="str")
    bad = reason.notna().to_numpy()
    rejected = pd.DataFrame({
        "file": str(path),
        "record": record[bad].to_numpy(),
        "message_id": raw["message_id"][bad].to_numpy() if "message_id" in raw else pd.NA,
        "recipient_address": raw["recipient_address"][bad].to_numpy() if "recipient_address" in raw else pd.NA,
        "reason": reason[bad].to_numpy(),
    }, columns=list(REJECTED_COLUMNS))
    kept = raw[~bad].drop(columns=[c for c in (RECORD, REJECT_REASON) if c in raw])
    return MessageLog(canonical_messages(kept, str(path), policy), rejected)


def read_raw(path: Path, options: Mapping[str, object]) -> pd.DataFrame:
    """A file's rows as its format's reader gives them. A folder (of e-mail files, of paged
    exports) is one log: the rows of every file in it, in path order, hidden files skipped,
    each ``record`` prefixed with the file's path in the folder."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path)))
        if not files:
            raise InputError(str(path), "the folder holds no files")
        return pd.concat([_in_folder(read_raw(p, options), p.relative_to(path)) for p in files], ignore_index=True)
    if not path.is_file():
        raise InputError(str(path), "no such file")
    fmt = detect_format(path)
    return fmt.read(path, **{name: value for name, value in options.items() if name in fmt.options})


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _records(raw: pd.DataFrame) -> pd.Series:
    """Where each row came from: the reader's ``record``, else its 1-based row number."""
    return raw[RECORD] if RECORD in raw else pd.Series(range(1, len(raw) + 1), index=raw.index, dtype="int64")


def _in_folder(raw: pd.DataFrame, relative: Path) -> pd.DataFrame:
    return raw.assign(**{RECORD: relative.as_posix() + ":" + _records(raw).astype("str")})


def canonical_messages(raw: pd.DataFrame, file: str, policy: Policy | None = None) -> pd.DataFrame:
    """Validate a frame of text columns and normalise it: UTC times, empty optionals as missing."""
    policy = policy or load_policy()
    raw = raw.rename(columns=lambda c: str(c).strip().lower()).reset_index(drop=True)
    raw = _to_text(raw)
    for column in ("body", "customer_id", "language"):
        if column in raw:
            raw[column] = raw[column].replace(r"^\s*$", pd.NA, regex=True)
    for column, spelling in _vocabulary(policy).items():
        if column in raw:
            given = raw[column].str.strip().replace("", pd.NA)
            raw[column] = given.str.lower().map(spelling).fillna(given)
    if "subject" in raw:
        raw["subject"] = raw["subject"].fillna("")
    validate(raw, message_schema(policy), file)
    out = raw.reindex(columns=list(MESSAGE_COLUMNS))
    out["sent_at"] = parse_utc(raw["sent_at"], file, "sent_at")
    return out.astype({c: "str" for c in MESSAGE_COLUMNS if c != "sent_at"})


def _vocabulary(policy: Policy) -> dict[str, dict[str, str]]:
    """Each vocabulary column's values by their lower-case spelling (exports capitalise them)."""
    words = {
        "source": policy.sources,
        "category": policy.topics + policy.graph_categories,
        "product": policy.products + ("unknown",),
    }
    return {column: {w.lower(): w for w in values} for column, values in words.items()}


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
    return table.to_pandas().astype("str")


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
    """The exact reader, for files Arrow rejects: finds the bad line, accepts numbers as ids.

    As in the fast path, a canonical field absent from every object is an empty column.
    """
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
    frame = pd.DataFrame.from_records(records)
    return frame.reindex(columns=list(dict.fromkeys([*MESSAGE_COLUMNS, *frame.columns])))


from . import formats  # noqa: E402,F401  (registers the export readers: Exchange, Graph, e-mail files)

"""Read message logs in any registered format into the canonical frame of SPEC §2.1.

Formats are registered by name with the file suffixes they claim and an optional
content sniffer, like papermill's I/O handlers: adding a format (an Exchange trace
export, Graph JSON, mbox) is one decorated function, never a new branch here.
"""
from __future__ import annotations

import codecs
import csv
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from itertools import chain
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from .errors import InputError, InputWarning, collect_input_warnings
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
    """What the readers made of the input: canonical rows, rows rejected with their reasons,
    identical copies removed, and the warnings raised while reading.

    ``records`` gives each message row's ``file`` and ``record`` (where it came from).
    """

    messages: pd.DataFrame
    rejected: pd.DataFrame
    duplicates: int = 0
    warnings: tuple[str, ...] = ()
    records: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def rows_read(self) -> int:
        """Every input row is a message row, a rejected row or a removed identical copy."""
        return len(self.messages) + len(self.rejected) + self.duplicates


def raise_first_rejection(rejected: pd.DataFrame) -> None:
    """For ``--strict``: the first rejected row, if any, as an InputError naming file and record."""
    if len(rejected):
        first = rejected.iloc[0]
        raise InputError(first["file"], f"rejected (--strict): {first['reason']}", row=first["record"])


def read_log(
    paths: str | Path | Iterable[str | Path],
    policy: Policy | None = None,
    options: Mapping[str, object] | None = None,
) -> MessageLog:
    """Read, validate and normalise message logs (files or folders of them) into one canonical
    frame, keeping rejected rows and removing identical copies (see :func:`deduplicate`).
    ``options`` are reader options (see :func:`register_format`).

    Raises :class:`InputError` naming file, row and column for unusable input.
    """
    policy = policy or load_policy()
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise InputError("(no files)", "no message log was given")
    with collect_input_warnings() as found:
        logs = [read_message_file(Path(p), policy, options) for p in paths]
    frames = [log.messages for log in logs]
    messages = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    records = pd.concat([log.records for log in logs], ignore_index=True)
    keep, conflicts, duplicates = deduplicate(messages, records)
    rejected = pd.concat([log.rejected for log in logs] + [conflicts], ignore_index=True)
    return MessageLog(messages[keep].reset_index(drop=True), rejected, duplicates, tuple(found),
                      records[keep].reset_index(drop=True))


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
    return message_log(read_raw(path, options or {}), str(path), policy)


def message_log(raw: pd.DataFrame, file: str, policy: Policy | None = None) -> MessageLog:
    """A reader's rows (of a file, or of a batch streamed from one) as canonical and rejected rows."""
    policy = policy or load_policy()
    raw = raw.reset_index(drop=True)
    record = _records(raw)
    reason = raw[REJECT_REASON] if REJECT_REASON in raw else pd.Series(pd.NA, index=raw.index, dtype="str")
    bad = reason.notna().to_numpy()
    rejected = pd.DataFrame({
        "file": file,
        "record": record[bad].to_numpy(),
        "message_id": raw["message_id"][bad].to_numpy() if "message_id" in raw else pd.NA,
        "recipient_address": raw["recipient_address"][bad].to_numpy() if "recipient_address" in raw else pd.NA,
        "reason": reason[bad].to_numpy(),
    }, columns=list(REJECTED_COLUMNS))
    kept = raw[~bad].drop(columns=[c for c in (RECORD, REJECT_REASON) if c in raw])
    records = pd.DataFrame({"file": file, "record": record[~bad].to_numpy()}, columns=["file", "record"])
    try:
        messages = canonical_messages(kept, file, policy)
    except InputError as err:  # its row counts the kept rows: name the file's own record instead
        row = err.row if err.row is None else records["record"].iloc[err.row - 1]
        raise InputError(err.file, err.reason, row=row, column=err.column) from None
    return MessageLog(messages, rejected, records=records)


def read_raw(path: Path, options: Mapping[str, object]) -> pd.DataFrame:
    """A file's rows as its format's reader gives them. A folder (of e-mail files, of paged
    exports) is one log: the rows of every file in it, in path order, hidden files skipped,
    each ``record`` prefixed with the file's path in the folder."""
    if path.is_dir():
        files = folder_files(path)
        if not files:
            raise InputError(str(path), "the folder holds no files")
        return pd.concat([_in_folder(read_raw(p, options), p.relative_to(path)) for p in files], ignore_index=True)
    if not path.is_file():
        raise InputError(str(path), "no such file")
    fmt = detect_format(path)
    return fmt.read(path, **{name: value for name, value in options.items() if name in fmt.options})


def folder_files(folder: Path) -> list[Path]:
    """The files a folder given as a log is read from: all of them, in path order, hidden ones skipped."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p.relative_to(folder)))


def input_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every file read for ``paths`` (files, and folders' files), e.g. to cite them by digest."""
    return [f for p in map(Path, paths) for f in (folder_files(p) if p.is_dir() else [p])]


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
    twice = raw.columns[raw.columns.duplicated()]
    if len(twice):
        raise InputError(file, "the header names this column more than once", column=twice[0])
    raw = _to_text(raw)
    for column in ("customer_id", "language"):
        if column in raw:
            raw[column] = raw[column].str.strip().replace("", pd.NA)
    if "body" in raw:  # bodies are long: only an exactly empty one is missing
        raw["body"] = raw["body"].replace("", pd.NA)
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


# Times a message log can hold: one outside is a typo or an unset field (0001-01-01, 9999-12-31),
# and resolution's period keys (resolve._period_keys) only cover 1900-2172.
SENT_AT_RANGE = (pd.Timestamp("1970-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC"))


def parse_utc(values: pd.Series, file: str, column: str) -> pd.Series:
    """ISO 8601 text or timestamps as UTC instants; an offset is honoured, a naive time is UTC.

    A time outside :data:`SENT_AT_RANGE` is an error, like an unreadable one.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = values.dt.tz_localize("UTC")
    else:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
        bad = parsed.isna() & values.notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(file, f"{values.iloc[row]!r} is not an ISO 8601 time", row=row + 1, column=column)
    low, high = SENT_AT_RANGE
    outside = parsed.notna() & ((parsed < low) | (parsed >= high))
    if outside.any():
        row = int(outside.to_numpy().nonzero()[0][0])
        raise InputError(file, f"{str(values.iloc[row])!r} is out of range (years {low.year} to {high.year - 1})",
                         row=row + 1, column=column)
    return parsed


def _to_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column except timestamps as text, so validation sees what the file held."""
    def text(col: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype):
            return col
        return col.astype("string").astype("str")

    return frame.apply(text) if len(frame.columns) else frame


def message_keys(messages: pd.DataFrame) -> pd.Series:
    """Each row's (message_id, recipient_address) as one text; addresses compare case-insensitively."""
    return messages["message_id"] + "\x00" + messages["recipient_address"].str.lower()


def deduplicate(messages: pd.DataFrame, records: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame, int]:
    """Rows repeating a (message_id, recipient_address) key, in or across files: ``(keep, rejected, removed)``.

    Copies with identical content are one message logged twice: the first is kept, the others
    removed and counted. Copies that differ cannot all be the message: every row of the key is
    rejected, each naming (file, record) another row of it whose content differs from its own.
    """
    key = message_keys(messages)
    repeated = key.duplicated(keep=False).to_numpy()
    keep = np.ones(len(messages), dtype=bool)
    if not repeated.any():
        return keep, pd.DataFrame(columns=list(REJECTED_COLUMNS)), 0
    group = key[repeated]
    rows = messages[repeated].assign(recipient_address=messages["recipient_address"][repeated].str.lower())
    content = pd.Series(pd.util.hash_pandas_object(rows, index=False).to_numpy(), index=group.index)
    position = pd.Series(np.flatnonzero(repeated), index=group.index)
    differs = content != content.groupby(group).transform("first")
    conflict = differs.groupby(group).transform("any").to_numpy()
    copy = ~conflict & group.duplicated().to_numpy()
    # a row unlike its key's first row names that one; the first row (and its twins) the first unlike it
    first_unlike = position.where(differs).groupby(group).transform("first")
    other = position.groupby(group).transform("first").where(differs, first_unlike)
    at, named = position[conflict].to_numpy(), other[conflict].astype("int64").to_numpy()
    where = records.iloc[named].astype("str")
    rejected = pd.DataFrame({
        "file": records["file"].iloc[at].to_numpy(),
        "record": records["record"].iloc[at].to_numpy(),
        "message_id": messages["message_id"].iloc[at].to_numpy(),
        "recipient_address": messages["recipient_address"].iloc[at].to_numpy(),
        "reason": ("same message_id and recipient_address as " + where["file"] + " record " + where["record"]
                   + ", with different content").to_numpy(),
    }, columns=list(REJECTED_COLUMNS))
    keep[position[conflict | copy].to_numpy()] = False
    return keep, rejected, int(copy.sum())


# --------------------------------------------------------------------------- formats


def _arrow_text_table(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas().astype("str")


CSV_BLOCK_BYTES = 64 << 20  # pyarrow parses a CSV in blocks a whole row must fit in (a 1 MB subject, an HTML body)


@register_format("csv", suffixes=(".csv",))
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
    if ragged or quotes % 2:  # pyarrow names neither the records it skipped nor a quote left open
        return _read_csv_slowly(path, encoding)
    return _arrow_text_table(table)


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


_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def encoding_of(head: bytes) -> str:
    """The text encoding a file's byte-order mark names; UTF-8 without one (Exchange reports are often UTF-16)."""
    return next((name for bom, name in _BOMS if head.startswith(bom)), "utf-8")


def text_encoding(path: Path) -> tuple[str, int]:
    """``(encoding, quotes)``: how the whole file decodes, and how many ``"`` it holds.

    UTF-8 (with or without BOM), or UTF-16 by its byte-order mark. A file that is not UTF-8 but
    decodes entirely as GB18030 (Chinese Windows exports) is read as GB18030 with an
    :class:`InputWarning`, since some other encodings' bytes decode as GB18030 too. Anything
    else is an InputError naming the offset of the first byte that does not decode.
    """
    with path.open("rb") as fh:
        encoding = encoding_of(fh.read(4))
    offset, quotes = _decode(path, encoding)
    if offset is None:
        return encoding, quotes
    if encoding == "utf-8":
        gb_offset, gb_quotes = _decode(path, "gb18030")
        if gb_offset is None:
            warnings.warn(InputWarning(f"{path}: not UTF-8 (byte offset {offset}), read as GB18030"), stacklevel=2)
            return "gb18030", gb_quotes
    expected = "UTF-8 (nor UTF-16 with a byte-order mark, nor GB18030)" if encoding == "utf-8" else encoding.upper()
    raise InputError(str(path), f"not {expected} text: undecodable byte at offset {offset}")


def _decode(path: Path, encoding: str) -> tuple[int | None, int]:
    """Decode a file block by block: ``(offset of the first undecodable byte or None, count of '"')``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    done = quotes = 0
    with path.open("rb") as fh:
        for block in chain(iter(lambda: fh.read(1 << 20), b""), [b""]):
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the previous block
            try:
                quotes += decoder.decode(block, final=not block).count('"')
            except UnicodeDecodeError as err:
                return done - pending + err.start, quotes
            done += len(block)
    return None, quotes


@register_format("parquet", suffixes=(".parquet", ".pq"), sniff=lambda head: head[:4] == b"PAR1")
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


from . import formats  # noqa: E402,F401  (registers the export readers: Exchange, Graph, e-mail files)

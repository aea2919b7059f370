"""Read message logs in any registered format (:mod:`auditlib.io.formats`) into the canonical
frame of SPEC §2.1: validated, times in UTC, rows a reader could not use kept with a reason,
and repeated (message_id, recipient) keys settled.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError, InputWarning, collect_input_warnings
from ..policy import Policy, load_policy
from ..schema import AUTHENTICATED, MESSAGE_COLUMNS, message_schema, validate
from .formats import RECORD, REJECT_REASON, detect_format

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
    """One file (any registered format) or folder, as validated canonical rows and rejected rows.
    The policy reaches the readers that take it (option ``policy``: their service and offer tables)."""
    policy = policy or load_policy()
    return message_log(read_raw(path, {**(options or {}), "policy": policy}), str(path), policy)


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
    exports) is a batch: the rows of every file in it, in path order, hidden files skipped,
    each ``record`` prefixed with the file's path in the folder; a file in it that cannot be
    read is one rejected row (record ``<file>:whole file``) with the reason, and the others are read."""
    if path.is_dir():
        files = folder_files(path)
        if not files:
            raise InputError(str(path), "the folder holds no files")
        frames = [_in_folder(_read_in_folder(p, options), p.relative_to(path)) for p in files]
        if all("message_id" not in frame for frame in frames):
            raise InputError(str(path), f"no file in the folder could be read (the first: {frames[0][REJECT_REASON].iloc[0]})")
        return pd.concat(frames, ignore_index=True)
    if not path.is_file():
        raise InputError(str(path), "no such file")
    fmt = detect_format(path)
    return fmt.read(path, **{name: value for name, value in options.items() if name in fmt.options})


def _read_in_folder(path: Path, options: Mapping[str, object]) -> pd.DataFrame:
    """A folder's file as :func:`read_raw` reads it, or, when it cannot be read, one rejected row
    saying why (also warned, so the manifest lists it); ``--strict`` then makes it an error."""
    try:
        return read_raw(path, options)
    except InputError as err:
        reason = f"file not read: {err.reason}" + (f" (row {err.row})" if err.row is not None else "")
        warnings.warn(InputWarning(f"{path}: {reason}"), stacklevel=2)
        return pd.DataFrame({RECORD: ["whole file"], REJECT_REASON: [reason]})


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
            raw[column] = _respelled(raw[column], spelling)
    if "subject" in raw:
        raw["subject"] = raw["subject"].fillna("")
    validate(raw, message_schema(policy), file)
    out = raw.reindex(columns=list(MESSAGE_COLUMNS))
    out["sent_at"] = parse_utc(raw["sent_at"], file, "sent_at")
    return out.astype({c: "str" for c in MESSAGE_COLUMNS if c != "sent_at"})


def _respelled(values: pd.Series, spelling: Mapping[str, str]) -> pd.Series:
    """A vocabulary column stripped (blank: missing) and in the policy's spelling, worked out once
    per distinct value: a column of a million rows holds a handful. Not ``frames.per_distinct``:
    validation needs the column's own text dtype back, not a categorical."""
    codes, uniques = pd.factorize(values)
    given = pd.Series(uniques, dtype=values.dtype).str.strip().replace("", pd.NA)
    fixed = given.str.lower().map(spelling).fillna(given)
    return pd.Series(fixed.array.take(codes, allow_fill=True), index=values.index)


def _vocabulary(policy: Policy) -> dict[str, dict[str, str]]:
    """Each vocabulary column's values by their lower-case spelling (exports capitalise them)."""
    words = {
        "source": policy.sources,
        "category": policy.topics + policy.graph_categories,
        "product": policy.products + ("unknown",),
        "sender_authenticated": AUTHENTICATED,
    }
    return {column: {w.lower(): w for w in values} for column, values in words.items()}


# Times a message log can hold: one outside is a typo or an unset field (0001-01-01, 9999-12-31),
# and resolution's period keys (resolve._period_keys) only cover 1900-2172.
SENT_AT_RANGE = (pd.Timestamp("1970-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC"))


def parse_utc(values: pd.Series, file: str, column: str, rows: pd.Series | None = None) -> pd.Series:
    """ISO 8601 text or timestamps as UTC instants; an offset is honoured, a naive time is UTC.

    A time outside :data:`SENT_AT_RANGE` is an error, like an unreadable one, naming the value's
    row: its position + 1, or its entry in ``rows`` (the file's row numbers, when rows were skipped).
    """
    def row_of(position: int) -> int:
        return position + 1 if rows is None else int(rows.iloc[position])

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = values.dt.tz_localize("UTC")
    else:
        parsed = pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
        bad = parsed.isna() & values.notna()
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(file, f"{values.iloc[row]!r} is not an ISO 8601 time", row=row_of(row), column=column)
    low, high = SENT_AT_RANGE
    outside = parsed.notna() & ((parsed < low) | (parsed >= high))
    if outside.any():
        row = int(outside.to_numpy().nonzero()[0][0])
        raise InputError(file, f"{str(values.iloc[row])!r} is out of range (years {low.year} to {high.year - 1})",
                         row=row_of(row), column=column)
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
    # a key can repeat only where its message_id does: keys are built and compared for those rows alone
    shared = messages["message_id"].duplicated(keep=False).to_numpy()
    key = message_keys(messages.loc[shared, ["message_id", "recipient_address"]])
    repeated = np.zeros(len(messages), dtype=bool)
    repeated[shared] = key.duplicated(keep=False).to_numpy()
    keep = np.ones(len(messages), dtype=bool)
    if not repeated.any():
        return keep, pd.DataFrame(columns=list(REJECTED_COLUMNS)), 0
    group = key[repeated[shared]]
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

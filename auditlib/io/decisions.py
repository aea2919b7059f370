"""Review decisions as a file: a CSV a person (or :mod:`auditlib.review`) keeps beside the reports.

Columns ``id, decision, reviewer, decided_at, comment`` and, optionally, ``expires``; other
columns are kept and ignored. ``id`` is a ``finding_id`` or a ``pattern_id``; ``decision`` one
of the policy's review decisions; ``decided_at`` an ISO 8601 time (a naive one is UTC);
``expires`` empty, or a date or time from which on the decision no longer covers a message
(a message sent before it stays covered). A bad value or column stops the run with one line
naming file, row and column. Recording appends rows, rewriting the file atomically; cells a
spreadsheet would run as formulas are guarded as in every CSV auditlib writes, and read back
without the guard.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..policy import Policy, load_policy
from .formats.base import RECORD, REJECT_REASON
from .formats.canonical import read_csv
from .lock import locked
from .log import parse_utc
from .tables import restore_formulas, write_table

REQUIRED = ("id", "decision", "reviewer", "decided_at", "comment")
COLUMNS = REQUIRED + ("expires",)
ID_PATTERN = r"[FP][0-9a-f]{16}"  # findings.short_ids: F (finding) or P (pattern) + 16 hex digits


@dataclass(frozen=True)
class Decisions:
    """A decisions file read and checked: ``table`` has :data:`COLUMNS` (times as UTC timestamps,
    ``expires`` missing when empty) and ``row``, each decision's data row in ``file``."""

    file: str
    table: pd.DataFrame


def read_decisions(path: str | Path, policy: Policy | None = None) -> Decisions:
    """The decisions in ``path``, checked against ``policy``'s review vocabulary."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "decisions file not found")
    return Decisions(str(path), checked(_raw(path), str(path), policy or load_policy()))


def _raw(path: Path) -> pd.DataFrame:
    """The file's cells as text, formula guards removed, with each row's data row number (``record``)."""
    frame = read_csv(path)
    if REJECT_REASON in frame:
        ragged = frame[REJECT_REASON].notna()
        if ragged.any():
            first = frame[ragged].iloc[0]
            raise InputError(str(path), first[REJECT_REASON], row=int(first[RECORD]))
        frame = frame.drop(columns=REJECT_REASON)
    return restore_formulas(frame.rename(columns=lambda c: str(c).strip().lower()))


def checked(raw: pd.DataFrame, file: str, policy: Policy) -> pd.DataFrame:
    """Decisions from text cells (``record``: each row's number in ``file``), or an InputError at
    the first bad column or value."""
    twice = raw.columns[raw.columns.duplicated()]
    if len(twice):
        raise InputError(file, "the header names this column more than once", row="header", column=twice[0])
    for column in REQUIRED:
        if column not in raw:
            raise InputError(file, f"missing (a decisions file has {', '.join(REQUIRED)} and optionally expires)",
                             row="header", column=column)
    text = raw.reindex(columns=list(COLUMNS)).astype("object").where(lambda f: f.notna(), None)
    stripped = {c: text[c].str.strip().replace("", None) for c in ("id", "decision", "reviewer", "decided_at", "expires")}
    rows = raw[RECORD].astype("int64").reset_index(drop=True)

    def fail(bad: pd.Series, column: str, reason) -> None:
        bad = bad.fillna(True).reset_index(drop=True)
        if bad.any():
            at = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(file, reason(at), row=int(rows[at]), column=column)

    for column in ("id", "decision", "reviewer", "decided_at"):
        fail(stripped[column].isna(), column, lambda _: "a value is required")
    ids, decision = stripped["id"], stripped["decision"].str.lower()
    fail(~ids.str.fullmatch(ID_PATTERN), "id",
         lambda r: f"{ids.iloc[r]!r} is not a finding_id (F + 16 hex digits) or a pattern_id (P + 16 hex digits)")
    known = policy.review_decisions
    fail(~decision.isin(known), "decision",
         lambda r: f"{stripped['decision'].iloc[r]!r} is not a decision (one of: {', '.join(known) or 'none in this policy'})")
    decided_at = parse_utc(stripped["decided_at"].reset_index(drop=True), file, "decided_at", rows)
    expires = parse_utc(stripped["expires"].reset_index(drop=True), file, "expires", rows)
    table = pd.DataFrame({"id": ids, "decision": decision, "reviewer": stripped["reviewer"], "comment": text["comment"]})
    return table.reset_index(drop=True).assign(decided_at=decided_at, expires=expires, row=rows)[[*COLUMNS, "row"]].astype(
        {"decided_at": "datetime64[ns, UTC]", "expires": "datetime64[ns, UTC]"})


def append_decisions(path: str | Path, new: pd.DataFrame, policy: Policy | None = None) -> Decisions:
    """Add ``new`` decisions (:data:`COLUMNS`, times as timestamps or text) to the end of the file at
    ``path`` (created when missing) and return all of them. Nothing is written unless every new row
    is valid; the file is rewritten atomically, its earlier rows as they were, one writer at a time."""
    path, policy = Path(path), policy or load_policy()
    text = new.reindex(columns=list(COLUMNS)).astype("object").assign(**{
        c: pd.to_datetime(new[c], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        for c in ("decided_at", "expires") if c in new and pd.api.types.is_datetime64_any_dtype(new[c])})
    checked(text.assign(**{RECORD: range(1, len(text) + 1)}), "(new decisions)", policy)
    with locked(path.resolve().parent, "another auditlib report or reviewer"):
        earlier = _raw(path) if path.is_file() else pd.DataFrame(columns=[*COLUMNS, RECORD])
        checked(earlier, str(path), policy)  # a broken file is mended by hand, not buried under new rows
        write_table(pd.concat([earlier.drop(columns=RECORD), text], ignore_index=True), path)
    return read_decisions(path, policy)

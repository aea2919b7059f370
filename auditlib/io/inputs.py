"""What a report reads: a verdicts file (checked against its manifest) or message logs audited
here, and the registry; the summaries and notebooks then work on frames only."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import pandas as pd

from ..decide import VERDICTS
from ..errors import InputError, collect_input_warnings
from ..schema import VERDICT_COLUMNS
from .digests import input_digests
from .log import parse_utc
from ..registry import REGISTRY_FILES
from .manifest import verified_manifest
from .tables import read_table

if TYPE_CHECKING:
    from ..audit import AuditRun
    from ..registry import Registry


def load_verdicts(path: str | Path) -> pd.DataFrame:
    """A verdicts file written by ``auditlib audit`` (.csv or .parquet), with its types restored.

    Refused when its manifest describes another file (see :func:`~auditlib.io.manifest.verified_manifest`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "verdicts file not found")
    verified_manifest(path)
    frame = read_table(path)
    missing = [c for c in VERDICT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(str(path), f"not a verdicts file: missing column(s) {', '.join(missing)}")
    sent_at = pd.to_datetime(frame["sent_at"], utc=True, format="ISO8601", errors="coerce")
    bad = sent_at.isna()
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(str(path), f"{frame['sent_at'].iloc[row]!r} is not a time", row=row + 1, column="sent_at")
    verdict = frame["verdict"].astype("str")
    unknown = ~verdict.isin(VERDICTS)
    if unknown.any():
        row = int(unknown.to_numpy().nonzero()[0][0])
        raise InputError(str(path), f"{verdict.iloc[row]!r} is not a verdict", row=row + 1, column="verdict")
    frame = frame.assign(sent_at=sent_at, verdict=pd.Categorical(verdict, categories=VERDICTS))
    if "reviewed_at" in frame:  # a CSV holds it as text: the same frame whichever format held it
        frame["reviewed_at"] = parse_utc(frame["reviewed_at"], str(path), "reviewed_at")
    return frame


@dataclass(frozen=True)
class Inputs:
    """What a report reads: the verdicts, the registry (names, clouds, resellers) and the input files' digests."""

    verdicts: pd.DataFrame
    registry: Registry
    digests: dict[str, str]
    run: "AuditRun | None" = None  # the audit of the message logs, when they were given: rejected rows, the account
    warnings: tuple[str, ...] = field(default=(), repr=False)  # about the registry: kept, not printed (see load_inputs)
    unmatched: tuple[str, ...] = ()  # review decisions that named no verdict row (a warning each, for the manifest)


def load_inputs(verdicts: str | Path = "", messages: Iterable[str | Path] = (), registry: str | Path = "",
                policy: str | Path = "", decisions: str | Path = "") -> Inputs:
    """A verdicts file, or message logs audited here (with evidence, against ``policy`` when given),
    plus the registry folder; with a ``decisions`` file, its review decisions shown on the rows
    they name (replacing any review columns the verdicts file had).

    The registry's warnings (overlapping agreements of any customer) are collected, not printed:
    a partner's notebook must not show text about another partner's customers.
    """
    from ..audit import run_audit
    from ..policy import load_policy
    from ..review_decisions import apply_decisions, matched_ids, unmatched
    from .decisions import read_decisions
    from .log import input_files
    from .registry_files import read_registry

    messages = [messages] if isinstance(messages, (str, Path)) else list(messages)
    if bool(verdicts) == bool(messages):
        raise InputError("(inputs)", "give either a verdicts file or message logs, not both or neither")
    folder = Path(registry)
    with collect_input_warnings() as found:
        run = None if verdicts else run_audit(messages, folder, load_policy(policy or None), evidence=True)
        frame = load_verdicts(verdicts) if verdicts else run.verdicts
        files = ([verdicts] if verdicts else input_files(messages)) + [folder / name for name in REGISTRY_FILES]
        registry_tables = read_registry(folder)
    lost: list[str] = []
    if decisions:
        review = read_decisions(decisions, load_policy(policy or None))
        frame, files = apply_decisions(frame, review.table), files + [Path(decisions)]
        lost = unmatched(review.table, matched_ids(frame, review.table), review.file)
    return Inputs(frame, registry_tables, input_digests(files), run, tuple(found), tuple(lost))

"""An earlier report folder, read for ``auditlib report --previous``: its period and, per partner,
the patterns its period had findings of (``partners/<name>.patterns.csv``, checked against the
SHA-256 its manifest recorded) and the trend of open violations it knew.

Only what the earlier run recorded is trusted: a partner its manifest does not list as written,
or without a patterns file, is not covered (its page says so); a patterns file changed since is
refused, as a verdicts file that does not match its manifest is.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from ..errors import InputError
from ..history import COUNTS, PATTERN_COLUMNS
from .digests import sha256_file
from .names import safe_name
from .tables import read_table

PARTNER_DIR = "partners"
PATTERNS = ".patterns.csv"  # suffix of a partner's patterns file, after its safe name


def patterns_path(out_dir: Path, partner_id: str) -> Path:
    """Where a report folder keeps a partner's patterns."""
    return out_dir / PARTNER_DIR / f"{safe_name(partner_id)}{PATTERNS}"


@dataclass(frozen=True)
class PastPartner:
    patterns: pd.DataFrame  # history.PATTERN_COLUMNS
    trend: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class PreviousReport:
    folder: Path
    start: pd.Timestamp
    end: pd.Timestamp  # exclusive
    partners: dict[str, PastPartner]  # only the partners it covered

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d} to {self.end - pd.Timedelta(days=1):%Y-%m-%d}"


def read_previous(folder: str | Path, partner_ids: Iterable[str]) -> PreviousReport:
    """The earlier report in ``folder`` as far as ``partner_ids`` are concerned."""
    folder = Path(folder)
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        start, end = (pd.Timestamp(manifest["period"][k], tz="UTC") for k in ("start", "end"))
        entries = manifest["partners"]
    except FileNotFoundError:
        raise InputError(str(folder), "not a report folder (no manifest.json)") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(str(path), "unreadable report manifest") from None
    covered = {}
    for partner_id in partner_ids:
        entry = entries.get(partner_id) or {}
        digest = (entry.get("files") or {}).get("patterns")
        if entry.get("status") in ("ok", "skipped") and digest:
            covered[partner_id] = PastPartner(_patterns(patterns_path(folder, partner_id), digest), list(entry.get("trend", [])))
    return PreviousReport(folder, start, end, covered)


def _patterns(path: Path, digest: str) -> pd.DataFrame:
    """A patterns file as written, once checked to be the file its run recorded."""
    if not path.is_file() or sha256_file(path) != digest:
        raise InputError(str(path), "missing or changed since its report was written (its manifest records another "
                                    "SHA-256); give a report folder as auditlib report left it")
    frame = read_table(path)
    missing = [c for c in PATTERN_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(str(path), f"not a patterns file: missing column(s) {', '.join(missing)}")
    for column in COUNTS:
        frame[column] = _checked(frame, column, pd.to_numeric(frame[column], errors="coerce"), path).astype("int64")
    for column in ("first_seen", "last_seen"):
        frame[column] = _checked(frame, column, pd.to_datetime(frame[column], utc=True, format="ISO8601", errors="coerce"), path)
    return frame[list(PATTERN_COLUMNS)]


def _checked(frame: pd.DataFrame, column: str, parsed: pd.Series, path: Path) -> pd.Series:
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(bad.nonzero()[0][0])
        raise InputError(str(path), f"{frame[column].iloc[row]!r} is not a valid value", row=row + 1, column=column)
    return parsed

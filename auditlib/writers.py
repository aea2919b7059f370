"""Write verdict frames, the format chosen by the output's suffix (a registry, like the readers)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from .errors import InputError

Writer = Callable[[pd.DataFrame, Path], None]
WRITERS: dict[str, Writer] = {}
FORMULA_LEAD = ("=", "+", "-", "@")


def register_writer(*suffixes: str):
    def decorate(write: Writer) -> Writer:
        WRITERS.update({s: write for s in suffixes})
        return write

    return decorate


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise InputError(str(path), f"output must end with one of: {', '.join(sorted(WRITERS))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer(frame, path)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells starting with ``= + - @`` prefixed by ``'`` so a spreadsheet shows them as text."""
    text = frame.select_dtypes(include=["object", "string", "category"]).columns
    def guard(col: pd.Series) -> pd.Series:
        col = col.astype("str")
        return col.where(~col.str.startswith(FORMULA_LEAD, na=False), "'" + col)
    return frame.assign(**{c: guard(frame[c]) for c in text})


def _iso_utc(frame: pd.DataFrame) -> pd.DataFrame:
    times = frame.select_dtypes(include=["datetimetz"]).columns
    return frame.assign(**{c: frame[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ") for c in times})


@register_writer(".csv")
def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """UTF-8 CSV, times as ISO 8601 UTC, formula-like text neutralised."""
    neutralise_formulas(_iso_utc(frame)).to_csv(path, index=False, encoding="utf-8")


@register_writer(".parquet")
def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)

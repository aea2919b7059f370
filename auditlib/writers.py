"""Write verdict frames, the format chosen by the output's suffix (a registry, like the readers)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

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
    _writer(path)(frame, path)


def _writer(path: Path) -> Writer:
    """The writer of ``path``'s suffix, its folder created; refuses an unknown suffix."""
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise InputError(str(path), f"output must end with one of: {', '.join(sorted(WRITERS))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return writer


def plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical and object columns as text, so pieces of one table share one schema whatever
    categories each piece happened to hold."""
    text = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return frame.astype({c: "str" for c in text})


class PieceWriter:
    """Writes one table piece by piece (a streamed audit's output), the format chosen by suffix
    as in :func:`write_table`; memory holds one piece. A CSV is appended to; a Parquet file gets
    a row group per piece, every piece cast to the first one's schema."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        _writer(self.path)
        self.parquet: pq.ParquetWriter | None = None
        self.pieces = 0

    def write(self, frame: pd.DataFrame) -> None:
        frame = plain_columns(frame)
        if self.path.suffix.lower() == ".csv":
            write_csv(frame, self.path, append=self.pieces > 0)
        else:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema])
                self.parquet = pq.ParquetWriter(self.path, schema.remove_metadata())
            self.parquet.write_table(table.select(self.parquet.schema.names).cast(self.parquet.schema))
        self.pieces += 1

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()

    def __enter__(self) -> "PieceWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
def write_csv(frame: pd.DataFrame, path: Path, append: bool = False) -> None:
    """UTF-8 CSV, times as ISO 8601 UTC, formula-like text neutralised; ``append`` adds rows without a header.

    Lines end in CRLF (RFC 4180), so a value holding a lone carriage return is quoted too.
    """
    neutralise_formulas(_iso_utc(frame)).to_csv(path, index=False, encoding="utf-8", mode="a" if append else "w",
                                                 header=not append, lineterminator="\r\n")


@register_writer(".parquet")
def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False)

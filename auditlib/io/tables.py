"""Tables in and out: verdict frames written in the format their file's suffix names (a
registry, like the readers'), atomically, and auditlib's own verdicts files read back.

A CSV cell a spreadsheet would run as a formula is written with a leading ``'`` (OWASP's CSV
injection advice); :func:`read_verdicts` removes exactly that guard again, so a verdicts file
read back is the frame that was written, whichever format holds it.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError, OutputError
from .atomic import os_errors, replacing, writable

Writer = Callable[[pd.DataFrame, Path, Mapping[str, object]], None]  # write(frame, path, metadata)
WRITERS: dict[str, Writer] = {}
METADATA_KEY = b"auditlib"  # Parquet key-value metadata: what the file says about its run

# A cell a spreadsheet would evaluate: = + - @ (or their fullwidth forms), after any blanks or
# quotes, or a leading tab, carriage return or line feed.
FORMULA = re.compile(r"^(?:[\t\r\n]|[\s\"'\u3000]*[=+\-@\uff1d\uff0b\uff0d\uff20])")
GUARD = "'"
GUARDED = re.compile(GUARD + FORMULA.pattern.lstrip("^"))


def register_writer(*suffixes: str) -> Callable[[Writer], Writer]:
    def decorate(write: Writer) -> Writer:
        WRITERS.update({s: write for s in suffixes})
        return write

    return decorate


def writer_of(path: Path) -> Writer:
    """The writer of ``path``'s suffix; refuses an unknown suffix."""
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise OutputError(str(path), f"output must end with one of: {', '.join(sorted(WRITERS))}")
    return writer


def write_table(frame: pd.DataFrame, path: str | Path, metadata: Mapping[str, object] | None = None) -> None:
    """``frame`` to ``path`` (CSV or Parquet by suffix), replacing it only once written whole.
    ``metadata`` (run id, account) goes into a Parquet file's key-value metadata."""
    path = Path(path)
    write = writer_of(path)
    with replacing(path) as temp:
        write(frame, temp, metadata or {})


def plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical and object columns as text, so pieces of one table share one schema whatever
    categories each piece happened to hold."""
    text = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return frame.astype({c: "str" for c in text})


class PieceWriter:
    """Writes one table piece by piece (a streamed audit's output), the format chosen by suffix
    as in :func:`write_table`; memory holds one piece. A CSV is appended to; a Parquet file gets
    a row group per piece, every piece cast to the first one's schema.

    It writes ``path`` itself: the caller stages it (:class:`~auditlib.io.atomic.Replacement`).
    """

    def __init__(self, path: str | Path):
        self.path = writable(Path(path))
        writer_of(self.path)
        self.parquet: pq.ParquetWriter | None = None
        self.pieces = 0

    def write(self, frame: pd.DataFrame) -> None:
        frame = plain_columns(frame)
        with os_errors(self.path):
            if self.path.suffix.lower() == ".csv":
                write_csv(frame, self.path, append=self.pieces > 0)
            else:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if self.parquet is None:
                    schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema])
                    self.parquet = pq.ParquetWriter(self.path, schema.remove_metadata())
                self.parquet.write_table(table.select(self.parquet.schema.names).cast(self.parquet.schema))
        self.pieces += 1

    def finish(self, metadata: Mapping[str, object]) -> None:
        """Close the file with ``metadata`` in a Parquet file's footer."""
        if self.parquet is not None:
            self.parquet.add_key_value_metadata({METADATA_KEY: json.dumps(metadata, default=str)})
        self.close()

    def close(self) -> None:
        if self.parquet is not None:
            with os_errors(self.path):
                self.parquet.close()
            self.parquet = None

    def __enter__(self) -> "PieceWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _text_columns(frame: pd.DataFrame) -> pd.Index:
    return frame.select_dtypes(include=["object", "string", "category"]).columns


def _risky(col: pd.Series, pattern: re.Pattern) -> np.ndarray:
    """Which cells of a text column match ``pattern`` at their start (missing ones never)."""
    return col.astype("string").str.match(pattern).fillna(False).to_numpy(dtype=bool)


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as a formula (:data:`FORMULA`) prefixed by ``'``."""
    def guard(col: pd.Series) -> pd.Series:
        col = col.astype("object")
        return col.where(~_risky(col, FORMULA), GUARD + col.astype("str"))
    return frame.assign(**{c: guard(frame[c]) for c in _text_columns(frame)})


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`neutralise_formulas`: a ``'`` the guard added (one before a cell that
    needs guarding) removed, so values round-trip exactly."""
    def unguard(col: pd.Series) -> pd.Series:
        return col.where(~_risky(col, GUARDED), col.str[1:])
    return frame.assign(**{c: unguard(frame[c]) for c in _text_columns(frame)})


def _iso_utc(frame: pd.DataFrame) -> pd.DataFrame:
    times = frame.select_dtypes(include=["datetimetz"]).columns
    return frame.assign(**{c: frame[c].dt.strftime("%Y-%m-%dT%H:%M:%SZ") for c in times})


@register_writer(".csv")
def write_csv(frame: pd.DataFrame, path: Path, metadata: Mapping[str, object] = {}, append: bool = False) -> None:
    """UTF-8 CSV, times as ISO 8601 UTC, formula-like text neutralised; ``append`` adds rows without a header.

    Lines end in CRLF (RFC 4180), so a value holding a lone carriage return is quoted too. A CSV
    holds no metadata: its manifest names it by SHA-256 instead.
    """
    neutralise_formulas(_iso_utc(frame)).to_csv(path, index=False, encoding="utf-8", mode="a" if append else "w",
                                                 header=not append, lineterminator="\r\n")


@register_writer(".parquet")
def write_parquet(frame: pd.DataFrame, path: Path, metadata: Mapping[str, object] = {}) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: json.dumps(metadata, default=str)})
    pq.write_table(table, path)


def parquet_metadata(path: Path) -> dict:
    """What a Parquet verdicts file says about its run (empty when it says nothing)."""
    try:
        found = (pq.ParquetFile(path).schema_arrow.metadata or {}).get(METADATA_KEY)
        return json.loads(found) if found else {}
    except (pa.ArrowInvalid, OSError, ValueError):
        return {}


def read_table(path: Path) -> pd.DataFrame:
    """A verdicts table as written by :func:`write_table`: Parquet as stored, CSV as text with
    empty cells missing and the formula guard removed."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype="str", keep_default_na=False, na_values=[""], encoding="utf-8-sig")
            return restore_formulas(frame)
    except (pa.ArrowInvalid, OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(str(path), f"unreadable verdicts file: {err}") from None
    raise InputError(str(path), "verdicts must be a .csv or .parquet file")


def read_pieces(path: Path, rows: int, columns: list[str]) -> Iterator[pd.DataFrame]:
    """``columns`` of a Parquet table, ``rows`` rows at a time whatever its row groups (the last piece
    shorter), so two tables of the same rows can be read side by side; memory holds about one piece."""
    waiting: list[pa.RecordBatch] = []
    held = 0
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=rows, columns=columns):
            waiting.append(batch)
            held += batch.num_rows
            while held >= rows:
                table = pa.Table.from_batches(waiting)
                yield table.slice(0, rows).to_pandas()
                waiting, held = table.slice(rows).to_batches(), held - rows
    except (pa.ArrowInvalid, OSError) as err:
        raise InputError(str(path), f"unreadable verdicts file: {err}") from None
    if held:
        yield pa.Table.from_batches(waiting).to_pandas()


@contextmanager
def arrow_chunks(path: str | Path, schema: pa.Schema) -> Iterator[Callable[[pa.Table], None]]:
    """Write Arrow tables one after another into one Parquet (a row group each) or CSV file,
    chosen by suffix, staged and renamed into place when all are written; yields ``write``.
    For generated data: no formula guard, no pandas, memory holds one table."""
    path = Path(path)
    if path.suffix.lower() not in (".parquet", ".csv"):
        raise OutputError(str(path), "write .parquet or .csv")
    with replacing(path) as staged:
        writer = pq.ParquetWriter(staged, schema) if path.suffix.lower() == ".parquet" else pacsv.CSVWriter(staged, schema)
        with writer:
            yield writer.write_table

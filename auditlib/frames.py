"""Helpers the stages share: work per distinct value, and ``;``-separated lists.

Message logs repeat senders, domains and templated texts. A stage computes on the
distinct rows of the columns it needs and expands the result back to every row as a
categorical, so its cost follows the variety of the log, not its length, and each row
costs a small integer.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa


def distinct_rows(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """``(codes, unique)``: the distinct combinations of ``columns`` (a missing column is
    empty) and, per row, the index of its combination. Missing values count as one value."""
    codes = combine_codes([pd.factorize(frame[c], use_na_sentinel=False)[0] if c in frame else np.zeros(len(frame), "int64")
                           for c in columns])
    unique = pd.DataFrame({c: frame[c] if c in frame else "" for c in columns}, index=frame.index).iloc[first_rows(codes)]
    return codes, unique.reset_index(drop=True)


def combine_codes(codes: list[np.ndarray]) -> np.ndarray:
    """Per row, the index of its combination of (non-negative) ``codes``, numbered in order of
    first appearance: integer arithmetic and factorising, whatever the values were."""
    combined = np.zeros(len(codes[0]) if codes else 0, dtype="int64")
    for column in codes:
        combined, _ = pd.factorize(combined * (int(column.max(initial=0)) + 1) + column)
    return combined


def first_rows(codes: np.ndarray) -> np.ndarray:
    """The first row of each combination numbered by :func:`combine_codes`, in code order."""
    first = np.full(codes.max(initial=-1) + 1, -1, dtype="int64")
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return first


def expand(values: pd.Series | np.ndarray, codes: np.ndarray, categories: tuple[str, ...] | None = None):
    """Per-row values from per-distinct-row ``values``: numbers by indexing, anything else as
    a categorical (over ``categories`` when given) whose distinct values are built once."""
    values = pd.Series(values)
    if values.dtype.kind in "fiub":
        return values.to_numpy()[codes]
    if categories is not None:
        value_codes = pd.Categorical(values, categories=categories).codes
    else:
        value_codes, categories = pd.factorize(values)
    row_codes = np.where(codes < 0, -1, np.append(value_codes, -1)[codes])
    return pd.Categorical.from_codes(row_codes, categories=categories)


def arrow_text(values: pd.Series) -> pa.Array:
    """A text column as one Arrow array (no copy when it is Arrow-backed already); missing stays missing."""
    array = pa.array(values.astype("str"))
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def per_distinct(values: pd.Series, compute: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``compute`` applied once per distinct value of ``values``, as a categorical over every
    row; missing values stay missing."""
    codes, uniques = pd.factorize(values)
    uniques = pd.Series(uniques, dtype=object if isinstance(values.dtype, pd.CategoricalDtype) else values.dtype)
    return pd.Series(expand(compute(uniques).reset_index(drop=True), codes), index=values.index)


def lookup(values: pd.Series, table: Mapping[object, object], default: object) -> np.ndarray:
    """``table[value]`` of each row (``default`` for a missing or unlisted value), looked up once per distinct value."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values)
    return np.array([table.get(u, default) for u in uniques] + [default])[codes]


def split_list(values: pd.Series) -> pd.Series:
    """``a; b;`` lists as Python lists of stripped, lower-cased, non-empty items."""
    return values.fillna("").str.lower().str.split(";").map(lambda items: [i.strip() for i in items if i.strip()])

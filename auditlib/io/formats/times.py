"""Times as exports write them, read into ISO 8601 UTC text.

Besides ISO 8601 (an offset honoured, none meaning UTC, any number of fractional digits):
.NET's ``/Date(ms)/`` (PowerShell 5's ``ConvertTo-Json``), culture-formatted slash dates as
PowerShell and spreadsheets write them (``M/d/yyyy H:mm`` with or without seconds and AM/PM),
and the dotted day-first form (``d.M.yyyy H:mm:ss``). Whether ``5/6/2024`` is May or June is
decided once per column: day-first when a first number exceeds 12 (or when told), month-first
(en-US, PowerShell's default) otherwise; in a column that shows both orders the rows that are
not month-first are left unread (and rejected by the reader).
"""
from __future__ import annotations

import pandas as pd

_ISO_OUT = "%Y-%m-%dT%H:%M:%S.%fZ"
_DOTNET = r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$"
_CULTURE = (r"^(?P<a>\d{1,2})(?P<sep>[/.])(?P<b>\d{1,2})(?P=sep)(?P<year>\d{4})[ T]+(?P<hour>\d{1,2}):(?P<minute>\d{2})"
            r"(?::(?P<second>\d{2}(?:\.\d+)?))?\s*(?P<half>[AaPp]\.?[Mm]\.?)?$")


def utc_times(values: pd.Series, day_first: bool | None = None) -> pd.Series:
    """Text times as ISO 8601 UTC text; missing where none of the forms fits (the caller rejects
    those rows quoting the value). ``day_first``: read slash dates as ``d/M/yyyy`` (None: decide
    from the column)."""
    text = values.astype("str").str.strip().replace("", pd.NA)
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    parsed = parsed.fillna(_dotnet(text)).fillna(_culture(text, day_first))
    return parsed.dt.strftime(_ISO_OUT).astype("str")


def _dotnet(text: pd.Series) -> pd.Series:
    """``/Date(1700000000000)/``: milliseconds since 1970 (an offset suffix changes nothing: the
    number is already UTC)."""
    ms = pd.to_numeric(text.str.extract(_DOTNET, expand=False), errors="coerce")
    return pd.to_datetime(ms, unit="ms", utc=True, errors="coerce")


def _culture(text: pd.Series, day_first: bool | None) -> pd.Series:
    """Slash and dotted dates with a time; ``d.M.yyyy`` is always day-first."""
    parts = text.str.extract(_CULTURE)
    slash = parts["sep"] == "/"
    a, b = (pd.to_numeric(parts[c], errors="coerce") for c in ("a", "b"))
    if day_first is None:
        day_first = bool((a[slash] > 12).any()) and not bool((b[slash] > 12).any())
    day_first_rows = ~slash | day_first
    day, month = a.where(day_first_rows, b), b.where(day_first_rows, a)
    hour = pd.to_numeric(parts["hour"], errors="coerce")
    half = parts["half"].str[0].str.lower()
    valid_hour = half.isna() | hour.between(1, 12)
    hour = hour.where(half.isna(), hour % 12 + 12 * (half == "p"))
    seconds = pd.to_numeric(parts["second"], errors="coerce").fillna(0)
    minute = pd.to_numeric(parts["minute"], errors="coerce")
    date = pd.to_datetime(pd.DataFrame({"year": pd.to_numeric(parts["year"]), "month": month, "day": day}),
                          errors="coerce", utc=True)
    ok = valid_hour & hour.between(0, 23) & minute.between(0, 59) & (seconds < 60)
    clock = pd.to_timedelta(hour * 3600 + minute * 60 + seconds, unit="s")
    return (date + clock).where(ok)

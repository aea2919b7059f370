"""The format registry: each format a name, the suffixes it claims and a content sniffer, like
papermill's I/O handlers. Adding a format is one :func:`register_format` call, never a branch
in the readers; the built-in ones are registered, in order, by :mod:`auditlib.io.formats`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from ...errors import InputError

Reader = Callable[..., pd.DataFrame]  # read(path, **options) -> DataFrame of text columns
REJECT_REASON = "rejected_reason"  # a reader marks a row it cannot use with a reason here
RECORD = "record"  # a reader may say where each row came from (line, record or message number)


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


def refusal(what: str) -> Reader:
    """A reader for a kind of file that is recognised but holds no messages: it stops with one
    line saying what the file is (``what``), so it is never half-read into rejected rows."""

    def refuse(path: Path, **_options) -> pd.DataFrame:
        raise InputError(str(path), what)

    return refuse


def detect_format(path: Path) -> Format:
    """The format the file's content and suffix point to.

    Content decides first, because suffixes are shared (a ``.csv`` may be a canonical log or
    an Exchange trace): a format whose sniffer accepts the file's first bytes and that claims
    its suffix, else any whose sniffer accepts them, else the first claiming the suffix. A file
    none accepts gets the ``unrecognised`` format, whose reader refuses it saying what it looks
    like: telling a file's format never fails, so a folder can set one such file aside.
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
    return Format("unrecognised", (), refusal(f"unrecognised message log format: {looks_like(head)} "
                                              f"(known suffixes: {', '.join(known)})"))


def looks_like(head: bytes) -> str:
    """What a file nobody reads seems to hold, from its first bytes, for the line refusing it."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    keys = list(dict.fromkeys(_JSON_KEY.findall(text)))[:8]
    if text[:1] in ("{", "[") and keys:
        return "JSON with keys " + ", ".join(keys)
    if not text or "\x00" in text:
        return "empty or binary data"
    return f"text starting {text.splitlines()[0][:60]!r}"


_JSON_KEY = re.compile(r'"([^"\\]{1,40})"\s*:')

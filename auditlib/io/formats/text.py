"""Which text encoding a file is in: UTF-8 (BOM or not), UTF-16 by its BOM, or GB18030 when
the whole file decodes as it (with a warning)."""
from __future__ import annotations

import codecs
import warnings
from itertools import chain
from pathlib import Path

from ...errors import InputError, InputWarning

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def encoding_of(head: bytes) -> str:
    """The text encoding a file's byte-order mark names; UTF-8 without one (Exchange reports are often UTF-16)."""
    return next((name for bom, name in _BOMS if head.startswith(bom)), "utf-8")


def text_encoding(path: Path) -> tuple[str, int]:
    """``(encoding, quotes)``: how the whole file decodes, and how many ``"`` it holds.

    UTF-8 (with or without BOM), or UTF-16 by its byte-order mark. A file that is not UTF-8 but
    decodes entirely as GB18030 (Chinese Windows exports) is read as GB18030 with an
    :class:`InputWarning`, since some other encodings' bytes decode as GB18030 too. Anything
    else is an InputError naming the offset of the first byte that does not decode.
    """
    with path.open("rb") as fh:
        encoding = encoding_of(fh.read(4))
    offset, quotes = _decode(path, encoding)
    if offset is None:
        return encoding, quotes
    if encoding == "utf-8":
        gb_offset, gb_quotes = _decode(path, "gb18030")
        if gb_offset is None:
            warnings.warn(InputWarning(f"{path}: not UTF-8 (byte offset {offset}), read as GB18030"), stacklevel=2)
            return "gb18030", gb_quotes
    expected = "UTF-8 (nor UTF-16 with a byte-order mark, nor GB18030)" if encoding == "utf-8" else encoding.upper()
    raise InputError(str(path), f"not {expected} text: undecodable byte at offset {offset}")


def _decode(path: Path, encoding: str) -> tuple[int | None, int]:
    """Decode a file block by block: ``(offset of the first undecodable byte or None, count of '"')``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    done = quotes = 0
    with path.open("rb") as fh:
        for block in chain(iter(lambda: fh.read(1 << 20), b""), [b""]):
            pending = len(decoder.getstate()[0])  # bytes of a character cut by the previous block
            try:
                quotes += decoder.decode(block, final=not block).count('"')
            except UnicodeDecodeError as err:
                return done - pending + err.start, quotes
            done += len(block)
    return None, quotes

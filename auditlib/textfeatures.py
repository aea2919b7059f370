"""Words and n-grams of message texts, computed column-wise with Arrow and NumPy.

The classifier reads a message as a bag of n-grams: English words and word pairs and
triples, and for Chinese, which has no spaces, single characters and their pairs and
triples (so "续订" and "促销" are features without a tokenizer). The subject's n-grams
count twice: once as text and once as subject features, because the subject is where a
sender says what the message is.

No step loops over texts in Python: texts are lower-cased by Arrow kernels and cut into
lines, each distinct line is split into tokens once (templated mail repeats its lines);
tokens are stemmed and numbered once per distinct token; n-grams are integer keys built
from neighbouring token numbers, looked up in the model's key table. A million texts
cost a pass or two over their characters.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .frames import arrow_text

MAX_ORDER = 3  # word/character n-grams up to triples
BODY_LIMIT = 1500  # characters of a body read: what a message is about is said early
_MARKUP = r"<[^>]+>|&(?:nbsp|amp|lt|gt|quot|#\d+);"  # HTML tags and entities
_HAN = r"\p{Han}"
_NOT_A_WORD = r"[^\p{L}\p{N}]+"  # what separates tokens
_STEMS = ((r"^licenc", "licens"), (r"^([a-z]{3,}?)(?:ings|ing|ed|es|s)$", r"\1"), (r"^([a-z]{3,}?)e$", r"\1"))
TEXT, SUBJECT = 0, 1  # the field an n-gram was found in: the key's lowest bit


@dataclass(frozen=True)
class Tokens:
    """Every token of every text, flattened, the subjects' first: ``row`` says whose,
    ``seq`` which run of adjacent tokens (a subject or a body); the first ``in_subject``
    tokens are the subjects'."""

    row: np.ndarray
    seq: np.ndarray
    in_subject: int
    token: pa.Array


def _normalised(text: pd.Series, limit: int | None, strip: str = "") -> pa.Array:
    """Lower-cased plain text: HTML tags and entities dropped, a leading ``strip`` pattern
    removed, cut to ``limit`` characters: the steps that read across a line break."""
    array = arrow_text(pd.Series(text).fillna(""))  # Arrow-backed already: no copy
    array = pc.utf8_lower(pc.replace_substring_regex(array, _MARKUP, " "))
    if strip:
        array = pc.replace_substring_regex(array, strip, "")
    if limit:
        array = pc.utf8_slice_codeunits(array, 0, limit)
    return array.cast(pa.large_string())


def _words(lines: pa.Array) -> pa.Array:
    """Each line's tokens: runs of letters and digits, each Chinese character on its own (empty
    tokens included). Split at ASCII spaces, the only separators left: Arrow 26's
    utf8_split_whitespace misreads a last string that ends in whitespace after a Chinese character."""
    spaced = pc.replace_substring_regex(pc.replace_substring_regex(lines, _NOT_A_WORD, " "), _HAN, r" \0 ")
    return pc.ascii_split_whitespace(spaced)


def _split(text: pa.Array) -> tuple[np.ndarray, pa.DictionaryArray]:
    """``(parent, tokens)``: every token of every text, in order, and the text it is in.

    Templated mail repeats its lines, and a line break always ends a token, so each distinct
    line is split once and its tokens, as codes into the distinct tokens, are copied to every
    line that repeats it: the per-character work follows the variety of the lines, not their number.
    """
    pieces = pc.split_pattern(text, "\n")
    line = pc.dictionary_encode(pc.list_flatten(pieces))
    words = _words(line.dictionary)
    flat, owner = pc.list_flatten(words), pc.list_parent_indices(words).to_numpy()
    nonempty = pc.greater(pc.utf8_length(flat), 0)
    tokens = pc.dictionary_encode(flat.filter(nonempty))
    count = np.bincount(owner[nonempty.to_numpy(zero_copy_only=False)], minlength=len(line.dictionary))
    per_line = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(count)]), pa.int32()), tokens.indices)
    taken = pc.take(per_line, line.indices)
    parent = pc.list_parent_indices(pieces).to_numpy()[pc.list_parent_indices(taken).to_numpy()]
    return parent, pa.DictionaryArray.from_arrays(pc.list_flatten(taken), tokens.dictionary)


def stem(tokens: pa.Array, whole: tuple[str, ...] = ()) -> pa.Array:
    """English words without their common endings and a final e ("renewed", "renews"
    -> "renew"; "invoices", "invoiced" -> "invoic") and in one spelling ("licence" ->
    "licens"), so that a form the corpus never showed still counts; the words in ``whole``
    (product names an ending would fold into a common word: the policy's ``whole_words``) stay
    as written. Done once per distinct token; evidence shows each stem as
    the corpus most often wrote it."""
    encoded = pc.dictionary_encode(tokens)
    words = encoded.dictionary
    for pattern, replacement in _STEMS:
        words = pc.replace_substring_regex(words, pattern, replacement)
    words = pc.if_else(pc.is_in(encoded.dictionary, value_set=pa.array(whole, pa.string())), encoded.dictionary, words)
    return pa.DictionaryArray.from_arrays(encoded.indices, words)


def tokenise(subject: pd.Series, body: pd.Series, reply_prefix: str = "", whole: tuple[str, ...] = (),
             stemmed: bool = True) -> Tokens:
    """The tokens of each (subject, body); reply markers (``reply_prefix``: "RE:", "回复：") leave the
    subject, and the words in ``whole`` keep their endings (see ``stem``).
    Tokens come dictionary-encoded: later steps work once per distinct token."""
    n = len(subject)
    # subjects then bodies, split together: the text at i is subject i (run 2i) or body i - n (run 2(i-n)+1)
    text, tokens = _split(pa.concat_arrays([_normalised(subject, None, reply_prefix), _normalised(body, BODY_LIMIT)]))
    in_body = text >= n
    return Tokens(row=text - in_body * n, seq=2 * text - in_body * (2 * n - 1), in_subject=int(np.count_nonzero(~in_body)),
                  token=stem(tokens, whole) if stemmed else tokens)


def is_han(tokens: np.ndarray) -> np.ndarray:
    """Whether each token is a single Chinese character (joined without a space when shown)."""
    return pc.match_substring_regex(pa.array(tokens, pa.large_string()), r"^\p{Han}$").to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class NGrams:
    """Occurrences of n-grams of one order in one field: ``row`` and ``key`` (an integer
    naming the n-gram and field; -1 where the tokens there make no n-gram)."""

    row: np.ndarray
    key: np.ndarray


class TokenTable:
    """Numbers for known tokens (1…T; 0 is an unknown token) and the n-gram keys built on them.

    An n-gram (a, b, c) of token numbers has key ``((a·B + b)·B + c)·2 + field`` with
    ``B = T + 1``: unigrams, pairs and triples never share a key, and the key alone says
    which tokens and field it stands for.
    """

    def __init__(self, tokens: np.ndarray, surface: np.ndarray | None = None):
        self.tokens = np.asarray(tokens, dtype=object)
        self.surface = self.tokens if surface is None else np.asarray(surface, dtype=object)  # how names show each token
        self.base = len(self.tokens) + 1
        self._index = pd.Index(self.tokens)
        self.han = is_han(self.tokens) if len(self.tokens) else np.zeros(0, bool)

    def numbers(self, tokens: pa.Array) -> np.ndarray:
        """Each token's number, 0 when the table does not know it (computed per distinct token)."""
        encoded = pc.dictionary_encode(tokens)
        known = self._index.get_indexer(encoded.dictionary.to_numpy(zero_copy_only=False)) + 1
        return known[encoded.indices.to_numpy()].astype(np.int64)

    def ngrams(self, found: Tokens, max_order: int = MAX_ORDER) -> Iterator[NGrams]:
        """The n-grams of order 1…``max_order`` of known tokens, in the text field and,
        for the subject's, in the subject field too. Yielded a piece at a time so that
        callers keep only what they look up: no array of every n-gram is ever built."""
        number, seq = self.numbers(found.token), found.seq
        key = number.copy()
        for order in range(1, max_order + 1):
            if order > 1:
                shift = order - 1
                valid = (number[shift:] > 0) & (seq[shift:] == seq[:-shift]) & (key[:-1] > 0)
                key = key[:-1] * self.base + number[shift:]
                key[~valid] = 0
            text = key * 2 + TEXT
            text[key <= 0] = -1
            yield NGrams(found.row[: len(text)], text)
            subject = text[: found.in_subject] + (SUBJECT - TEXT)
            subject[text[: found.in_subject] < 0] = -1
            yield NGrams(found.row[: len(subject)], subject)

    def components(self, keys: np.ndarray) -> np.ndarray:
        """The token numbers each key is made of, last token last (keys × ``MAX_ORDER``; 0 pads)."""
        rest = np.asarray(keys, dtype=np.int64) // 2
        out = np.zeros((len(rest), MAX_ORDER), dtype=np.int64)
        for position in range(MAX_ORDER - 1, -1, -1):
            out[:, position] = rest % self.base
            rest = rest // self.base
        return out

    def name(self, keys: np.ndarray) -> list[str]:
        """The n-gram each key stands for, as a reader would write it ("payment method", "续订")."""
        names = []
        for key in np.asarray(keys, dtype=np.int64).tolist():
            field, key = key % 2, key // 2
            parts = []
            while key:
                parts.append(int(key % self.base))
                key //= self.base
            words = [self.surface[p - 1] for p in reversed(parts)]
            text = "".join(w if self.han[p - 1] and (i == 0 or self.han[parts[::-1][i - 1] - 1]) else " " + w
                           for i, (w, p) in enumerate(zip(words, reversed(parts)))).strip()
            names.append(text + (" (subject)" if field == SUBJECT else ""))
        return names

    def keys_of(self, phrases: list[str], whole: tuple[str, ...] = ()) -> np.ndarray:
        """The text-field key of each phrase (tokenised the same way, ``whole`` as in ``stem``); -1
        where a token is unknown or the phrase is longer than ``MAX_ORDER`` tokens."""
        found = tokenise(pd.Series([""] * len(phrases)), pd.Series(phrases), whole=whole)
        length = np.bincount(found.row, minlength=len(phrases))
        out = np.full(len(phrases), -1, dtype=np.int64)
        # a phrase's own key is the text-field n-gram spanning all its tokens
        for order, grams in enumerate(islice(self.ngrams(found), 0, None, 2), start=1):
            spans = (grams.key >= 0) & (length[grams.row] == order)
            out[grams.row[spans]] = grams.key[spans]
        return out

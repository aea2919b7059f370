"""A small linear text model: n-gram and cue features in, calibrated label probabilities
and the n-grams that moved them out.

The model is data, not code: the token table, the n-gram keys it weighs, the policy's
cue phrases (product names, topic keywords) and one weight matrix per head (``topic``,
``product``), trained by :mod:`auditlib.training` from the labelled corpus in
``tests/eval/corpus`` and shipped beside the policy file (read and written by
:mod:`auditlib.io.models`). Scoring a batch of texts is a
few array operations: each n-gram occurrence adds its weight row to its text's scores
(``np.bincount``), so there is no loop over texts, only over a head's handful of labels.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .textfeatures import TokenTable, tokenise

EVIDENCE_TERMS = 3  # n-grams quoted as the evidence of a decision


@dataclass(frozen=True)
class Occurrences:
    """The features found in a batch of texts: one entry per occurrence.

    A feature present in a text occurs once, however often the text repeats it.
    ``column`` indexes the model's features (n-grams first, then cue groups per field);
    ``shown`` indexes the phrase quoted as evidence for it; ``scale`` is each text's
    normalisation (1/√features present), so long texts do not outvote short ones.
    """

    rows: int
    row: np.ndarray
    column: np.ndarray
    shown: np.ndarray
    scale: np.ndarray


@dataclass(frozen=True, eq=False)
class Head:
    """One decision the model makes: its labels and a linear layer over the features."""

    labels: tuple[str, ...]
    weights: np.ndarray  # (features, labels)
    bias: np.ndarray  # (labels,)
    temperature: float  # divides the scores so probabilities match observed accuracy

    @cached_property
    def centred(self) -> np.ndarray:
        """Each feature's weight for a label less its mean weight: how far it pulls towards that label."""
        return self.weights - self.weights.mean(axis=1, keepdims=True)

    def probabilities(self, found: Occurrences) -> np.ndarray:
        """Softmax of the calibrated scores, one row per text."""
        scores = np.empty((found.rows, len(self.labels)))
        for j in range(len(self.labels)):
            scores[:, j] = np.bincount(found.row, weights=self.weights[found.column, j], minlength=found.rows)
        scores = (scores * found.scale[:, None] + self.bias) / self.temperature
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True, eq=False)
class TextModel:
    version: str
    table: TokenTable
    keys: np.ndarray  # sorted n-gram keys of the features
    names: np.ndarray  # what each feature, then each cue phrase, is quoted as
    cue_keys: np.ndarray  # sorted text-field keys of the cue phrases
    cue_group: np.ndarray  # each cue phrase's group
    groups: tuple[str, ...]  # cue groups ("product:azure", "topic:subscription", …)
    heads: dict[str, Head]
    reply_prefix: str = ""  # reply markers stripped from a subject: the policy's, as in training
    whole_words: tuple[str, ...] = ()  # words the tokeniser keeps unstemmed: the policy's, as in training

    @cached_property
    def _feature_index(self) -> pd.Index:
        return pd.Index(self.keys)  # a hash table: one look-up per n-gram occurrence

    @cached_property
    def _phrase(self) -> np.ndarray:
        return pd.factorize(self.names)[0]  # one number per distinct quoted phrase

    @cached_property
    def _cue_index(self) -> pd.Index:
        return pd.Index(self.cue_keys)

    @property
    def features(self) -> int:
        return len(self.keys) + 2 * len(self.groups)

    def occurrences(self, subject: pd.Series, body: pd.Series) -> Occurrences:
        """The features present in each (subject, body)."""
        n = len(subject)
        rows, columns, shown = [], [], []
        for grams in self.table.ngrams(tokenise(subject, body, self.reply_prefix, self.whole_words)):
            feature = self._feature_index.get_indexer(grams.key)
            hit = feature >= 0
            rows.append(grams.row[hit])
            columns.append(feature[hit])
            shown.append(feature[hit])
            cue = self._cue_index.get_indexer(grams.key & ~1)  # a cue counts in either field
            cued = cue >= 0
            rows.append(grams.row[cued])
            columns.append(len(self.keys) + (grams.key[cued] & 1) * len(self.groups) + self.cue_group[cue[cued]])
            shown.append(len(self.keys) + cue[cued])
        row, column, shown = np.concatenate(rows), np.concatenate(columns), np.concatenate(shown)
        # a feature counts once per text, however often it occurs: presence, not frequency
        first = ~pd.Series(row * self.features + column).duplicated().to_numpy()  # one hash pass, no sort
        row, column, shown = row[first], column[first], shown[first]
        count = np.bincount(row, minlength=n)
        return Occurrences(n, row, column, shown, 1.0 / np.sqrt(np.maximum(count, 1)))

    def evidence(self, head: Head, found: Occurrences, label: np.ndarray) -> pd.Series:
        """Per text, the phrases that pushed it most towards ``label`` (a label index per
        text; -1 for none), quoted and heaviest first."""
        chosen = label[found.row]
        at = chosen >= 0
        row, column, shown = found.row[at], found.column[at], found.shown[at]
        contribution = head.centred[column, chosen[at]]
        pulls = contribution > 0
        row, shown, contribution = row[pulls], shown[pulls], contribution[pulls]
        # once per (text, phrase as written: an n-gram and the cue it also is read alike),
        # then heaviest first within each text
        first = ~pd.Series(row * len(self.names) + self._phrase[shown]).duplicated().to_numpy()
        row, shown, contribution = row[first], shown[first], contribution[first]
        order = np.argsort(row - np.tanh(contribution) / 2, kind="stable")  # by text (|tanh/2| < 1/2), then pull
        row, shown = row[order], shown[order]
        count = np.bincount(row, minlength=found.rows)
        rank = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)  # place within its text's run
        shown = shown[rank < EVIDENCE_TERMS]
        offsets = np.concatenate([[0], np.cumsum(np.minimum(count, EVIDENCE_TERMS))]).astype(np.int32)
        lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(self.names[shown], pa.string()))
        return pd.Series(pc.binary_join(lists, ", ").to_numpy(zero_copy_only=False), dtype=object)

"""Classify each message's topic and product family (SPEC §3), and say why.

A source or category that already says the topic wins; a filled ``product`` column is
the product. Otherwise the text decides: every distinct (subject, body) is scored once
against the policy's patterns, and the result is mapped back to all rows that share
it, so a million templated messages cost about as much as their distinct texts.

Scoring is transparent on purpose: each label's score is a sum over the distinct terms
its patterns matched, and the matched terms are the evidence quoted in the verdict.
A term weighs more in the subject than in the body, and a product named in the subject's
headline ("Power BI: ...") most, because that is where a sender says what the message is about. A
close call, or a topic resting only on weak terms, is ``unknown``: a reviewer is told
what conflicted rather than handed a guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from .frames import distinct_rows, expand
from .policy import Policy
from .prefilter import may_match

_TAG = re.compile(r"<[^>]+>")
_ENTITY = re.compile(r"&(nbsp|amp|lt|gt|quot|#39|#160);")
_ENTITIES = {"nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'", "#160": " "}
STRONG, WEAK = 3, 1  # weight of a strong and a weak topic pattern
HEADLINE = 3  # a product named in the subject's headline counts this many times the subject weight


@dataclass(frozen=True)
class Field:
    """One part of a message that is searched, and how much a term found there weighs."""

    name: str
    text: pd.Series
    weight: float


@cache
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def plain_text(body: pd.Series) -> pd.Series:
    """HTML bodies as plain text (tags dropped, common entities decoded); plain bodies unchanged."""
    text = body.fillna("").astype("str").str.replace(_TAG, " ", regex=True)
    return text.str.replace(_ENTITY, lambda m: _ENTITIES[m.group(1)], regex=True)


def clean_subject(subject: pd.Series, reply_prefix: str) -> pd.Series:
    """The subject without leading reply/forward markers ("RE: FW:", "回复："), which say nothing of the topic."""
    subject = subject.fillna("").astype("str").str.strip()
    return subject.str.replace(re.compile(reply_prefix, re.IGNORECASE), "", regex=True) if reply_prefix else subject


def headline(subject: pd.Series, separator: str) -> pd.Series:
    """The subject's text before its first separator ("Power BI" of "Power BI: connector change"), else empty."""
    if not separator:
        return pd.Series("", index=subject.index, dtype="str")
    parts = subject.str.split(separator, n=1, regex=True)
    return parts.map(lambda p: p[0] if len(p) > 1 else "").astype("str")


def _matches(text: pd.Series, patterns: tuple[str, ...]) -> pd.Series:
    """Distinct lower-cased terms of ``patterns`` found in each text.

    RE2 (see :mod:`auditlib.prefilter`) first picks the texts the tier's patterns may match,
    then, among those, each pattern's candidates; Python's ``re`` searches only those.
    """
    found = pd.Series([frozenset()] * len(text), index=text.index, dtype=object)
    if not patterns:
        return found
    text = text.fillna("").astype("str")
    candidates = text[may_match(text, "|".join(f"(?:{p})" for p in patterns))]
    for pattern in patterns:
        hits = candidates[may_match(candidates, pattern)] if len(candidates) else candidates
        if len(hits):
            terms = hits.str.findall(_compiled(pattern)).map(lambda ts: frozenset(t.lower().strip() for t in ts))
            found[terms.index] = [a | b for a, b in zip(found[terms.index], terms)]
    return found


def _weigh(fields: list[Field], patterns: tuple[str, ...], weight: float) -> pd.Series:
    """Each row's {term: (value, field name)}: a term counts once, in the field where it weighs most."""
    found = [(_matches(f.text, patterns), f) for f in fields]
    rows = []
    for per_field in zip(*(m for m, _ in found)):
        terms: dict[str, tuple[float, str]] = {}
        for match, (_, field) in zip(per_field, found):
            for term in match:
                if term not in terms or terms[term][0] < weight * field.weight:
                    terms[term] = (weight * field.weight, field.name)
        rows.append(terms)
    return pd.Series(rows, index=fields[0].text.index, dtype=object)


def score(fields: list[Field], groups: dict[str, list[tuple[tuple[str, ...], float]]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Score each label of ``groups`` (label -> [(patterns, weight)]) on each message.

    Returns ``(scores, strongest, terms)``: the summed value of the label's terms, the
    weight of its heaviest matching tier (0 when none matched), and the terms themselves.
    """
    scores, strongest, terms = {}, {}, {}
    for label, tiers in groups.items():
        found = [(_weigh(fields, patterns, weight), weight) for patterns, weight in tiers]
        scores[label] = sum(f.map(lambda t: sum(v for v, _ in t.values())) for f, _ in found)
        strongest[label] = pd.concat([f.map(bool) * weight for f, weight in found], axis=1).max(axis=1)
        terms[label] = pd.Series([{k: v for f in row for k, v in f.items()} for row in zip(*(f for f, _ in found))],
                                 index=fields[0].text.index, dtype=object)
    return pd.DataFrame(scores), pd.DataFrame(strongest), pd.DataFrame(terms)


def _quote(terms: dict[str, tuple[float, str]]) -> str:
    """Terms heaviest first, each marked with where it was found when not in the body."""
    ranked = sorted(terms.items(), key=lambda kv: (-kv[1][0], kv[0]))
    return ", ".join(f'"{t}"' + ("" if where == "body" else f" ({where})") for t, (_, where) in ranked)


def pick(scores: pd.DataFrame, strongest: pd.DataFrame, terms: pd.DataFrame, min_margin: float,
         min_strength: float) -> pd.DataFrame:
    """The top-scoring label, its evidence and confidence; ``unknown`` when nothing matched,
    when the runner-up is within ``min_margin`` of the winner, or when the winner's
    heaviest term is lighter than ``min_strength``. The evidence of an unknown says which."""
    values = scores.to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")
    top = np.take_along_axis(values, order[:, :1], axis=1)[:, 0]
    second = np.take_along_axis(values, order[:, 1:2], axis=1)[:, 0] if values.shape[1] > 1 else np.zeros(len(values))
    winner = np.asarray(scores.columns)[order[:, 0]]
    runner_up = np.asarray(scores.columns)[order[:, 1]] if values.shape[1] > 1 else winner
    strong_enough = strongest.to_numpy()[np.arange(len(values)), order[:, 0]] >= min_strength
    clear = (top - second >= min_margin * top) & (top > second)
    decided = (top > 0) & clear & strong_enough
    evidence = []
    for row, (w, r, ok, is_clear) in enumerate(zip(winner, runner_up, decided, clear)):
        if ok:
            evidence.append(_quote(terms.iloc[row][w]))
        elif top[row] == 0:
            evidence.append("")
        elif not is_clear:
            evidence.append(f"too close: {w} {_quote(terms.iloc[row][w])} vs {r} {_quote(terms.iloc[row][r])}")
        else:
            evidence.append(f"only weak terms: {w} {_quote(terms.iloc[row][w])}")
    total = values.sum(axis=1)
    return pd.DataFrame(
        {
            "label": np.where(decided, winner, "unknown"),
            "evidence": evidence,
            "confidence": np.where(total > 0, top / np.where(total > 0, total, 1), 0.0).round(2),
        },
        index=scores.index,
    )


def message_fields(subject: pd.Series, body: pd.Series, policy: Policy) -> list[Field]:
    """The searched parts of each message: headline, subject (reply markers removed) and plain body."""
    subject = clean_subject(subject, policy.reply_prefix)
    return [
        Field("headline", headline(subject, policy.headline_separator), HEADLINE * policy.subject_weight),
        Field("subject", subject, policy.subject_weight),
        Field("body", plain_text(body).set_axis(subject.index), 1),
    ]


def classify_texts(subject: pd.Series, body: pd.Series, policy: Policy) -> pd.DataFrame:
    """Topic and product of each (subject, body) from its words alone.

    Columns: ``text_topic, topic_evidence, topic_confidence, text_product, product_evidence``.
    """
    fields = message_fields(subject, body, policy)
    topic_groups = {t: [(p.strong, STRONG), (p.weak, WEAK)] for t, p in policy.topic_patterns.items()}
    product_groups = {f: [(p, 1)] for f, p in policy.product_patterns.items()}
    # The headline names what a message is about, not what kind of message it is.
    topic = pick(*score([f for f in fields if f.name != "headline"], topic_groups), policy.min_margin, min_strength=STRONG)
    product = pick(*score(fields, product_groups), policy.min_margin, min_strength=0)
    return pd.DataFrame(
        {
            "text_topic": topic["label"],
            "topic_evidence": topic["evidence"],
            "topic_confidence": topic["confidence"],
            "text_product": product["label"],
            "product_evidence": product["evidence"],
        }
    )


def distinct_texts(frame: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """``(codes, unique)`` of the distinct (subject, body) pairs of ``frame``."""
    return distinct_rows(frame, ["subject", "body"])


def _decide(unique: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Topic, product and evidence of each distinct (subject, body, source, category, product) row.

    Precedence (SPEC §3): an operational ``source``, then a ``category`` that is a Graph
    category (operational) or names a topic, then the text. A filled ``product`` wins.
    """
    codes, texts = distinct_texts(unique)
    texts = texts.fillna("").astype("str")
    labels = classify_texts(texts["subject"], texts["body"], policy).iloc[codes].reset_index(drop=True)
    source, category, given = unique["source"], unique["category"], unique["product"]
    by_source = source.isin(policy.operational_sources).to_numpy()
    by_graph = category.isin(policy.graph_categories).to_numpy()
    # a category naming a topic is that topic; "unknown" tells nothing, so the text decides
    by_category = (category.isin(policy.topics) & category.ne("unknown")).to_numpy()
    has_product = given.ne("").to_numpy()
    return pd.DataFrame(
        {
            "topic": np.select([by_source, by_graph, by_category], ["operational", "operational", category.to_numpy(dtype=object)],
                               default=labels["text_topic"].to_numpy(dtype=object)),
            "topic_evidence": np.select([by_source, by_graph | by_category], ["source " + source, "category " + category],
                                        default=labels["topic_evidence"].to_numpy(dtype=object)),
            "topic_confidence": np.where(by_source | by_graph | by_category, 1.0, labels["topic_confidence"]),
            "product": np.where(has_product, given, labels["text_product"]),
            "product_evidence": np.where(has_product, "product " + given, labels["product_evidence"]),
        }
    )


def classify(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Add ``topic``, ``product`` and their evidence and confidence to a canonical message frame.

    Each distinct (subject, body, source, category, product) row is decided once and the
    result mapped back, so templated mail costs about as much as its distinct texts.
    """
    codes, unique = distinct_rows(frame, ["subject", "body", "source", "category", "product"])
    decided = _decide(unique.fillna("").astype("str"), policy)
    fixed = {"topic": tuple(policy.topics), "product": tuple(policy.products) + ("unknown",)}
    return frame.assign(**{column: expand(decided[column], codes, fixed.get(column)) for column in decided.columns})

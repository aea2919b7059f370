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
from .prefilter import scanner

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


Found = list[dict[str, frozenset[str]]]  # per text: pattern -> the distinct terms it matched


def find_terms(texts: pd.Series, patterns: tuple[str, ...]) -> Found:
    """Per text, the lower-cased terms of each pattern that matches it.

    The prefilter's scanner names the patterns that may match each text in one pass;
    Python's ``re`` (which has look-around) searches the text only with those.
    """
    values = texts.fillna("").astype("str").tolist()
    found: Found = []
    for text, candidates in zip(values, scanner(patterns).candidates(values)):
        terms = {patterns[i]: frozenset(t.lower().strip() for t in _compiled(patterns[i]).findall(text)) for i in candidates}
        found.append({pattern: words for pattern, words in terms.items() if words})
    return found


def score(fields: list[Field], groups: dict[str, list[tuple[tuple[str, ...], float]]]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Score each label of ``groups`` (label -> [(patterns, weight)]) on each message.

    Within a tier a term counts once, in the field where it weighs most; a label's score
    sums its tiers. Returns ``(scores, strongest, terms)``: the score, the weight of the
    heaviest tier that matched (0 when none) and the terms with their value and field.
    Each text's matches are walked once, through a map from pattern to (label, tier).
    """
    owners: dict[str, list[tuple[str, int, float]]] = {}
    for label, tiers in groups.items():
        for index, (tier, weight) in enumerate(tiers):
            for pattern in tier:
                owners.setdefault(pattern, []).append((label, index, weight))
    searched = [(field, find_terms(field.text, tuple(owners))) for field in fields]
    scores, strongest, terms = [], [], []
    for per_field in zip(*(found for _, found in searched)):
        buckets: dict[tuple[str, int], dict[str, tuple[float, str]]] = {}
        for found, (field, _) in zip(per_field, searched):
            for pattern, words in found.items():
                for label, index, weight in owners[pattern]:
                    bucket, value = buckets.setdefault((label, index), {}), weight * field.weight
                    for term in words:
                        if term not in bucket or bucket[term][0] < value:
                            bucket[term] = (value, field.name)
        matched = {label: [(i, buckets[(l, i)]) for (l, i) in sorted(buckets) if l == label] for label in groups}
        scores.append({label: sum(v for _, b in tiers for v, _ in b.values()) for label, tiers in matched.items()})
        strongest.append({label: max((groups[label][i][1] for i, _ in tiers), default=0) for label, tiers in matched.items()})
        terms.append({label: {k: v for _, b in tiers for k, v in b.items()} for label, tiers in matched.items()})
    index = fields[0].text.index
    return (pd.DataFrame(scores, index=index, columns=list(groups)).fillna(0.0),
            pd.DataFrame(strongest, index=index, columns=list(groups)).fillna(0),
            pd.DataFrame(terms, index=index, columns=list(groups)))


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
    table = terms.to_numpy()
    column = {label: i for i, label in enumerate(terms.columns)}
    evidence = []
    for row, (w, r, ok, is_clear) in enumerate(zip(winner, runner_up, decided, clear)):
        found = table[row]
        if ok:
            evidence.append(_quote(found[column[w]]))
        elif top[row] == 0:
            evidence.append("")
        elif not is_clear:
            evidence.append(f"too close: {w} {_quote(found[column[w]])} vs {r} {_quote(found[column[r]])}")
        else:
            evidence.append(f"only weak terms: {w} {_quote(found[column[w]])}")
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

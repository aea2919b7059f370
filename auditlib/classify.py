"""Classify each message's topic and product family (SPEC §3).

A source or category that already says the topic wins; a filled ``product`` column is
the product. Otherwise the text decides: every distinct (subject, body) is scored once
against the policy's keyword patterns, and the result is mapped back to all rows that
share it, so a million templated messages cost about as much as their distinct texts.
"""
from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd

from .policy import Policy

_TAG = re.compile(r"<[^>]+>")
_ENTITY = re.compile(r"&(nbsp|amp|lt|gt|quot|#39);")
_ENTITIES = {"nbsp": " ", "amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'"}


@cache
def _alternation(patterns: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def plain_text(body: pd.Series) -> pd.Series:
    """HTML bodies as plain text (tags dropped, common entities decoded); plain bodies unchanged."""
    text = body.fillna("").astype("str").str.replace(_TAG, " ", regex=True)
    return text.str.replace(_ENTITY, lambda m: _ENTITIES[m.group(1)], regex=True)


def _matches(text: pd.Series, patterns: tuple[str, ...]) -> pd.Series:
    """Distinct lower-cased matched terms of ``patterns`` in each text, as sorted lists."""
    if not patterns:
        return pd.Series([[]] * len(text), index=text.index, dtype=object)
    found = text.str.findall(_alternation(patterns))
    return found.map(lambda terms: sorted({t.lower().strip() for t in terms}))


def score(subject: pd.Series, body: pd.Series, groups: dict[str, list[tuple[tuple[str, ...], int]]],
          subject_weight: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score each label of ``groups`` (label -> [(patterns, weight)]) on each text.

    Returns ``(scores, evidence)``: a float score and the matched terms per label. Each
    distinct term counts once, ``subject_weight`` times when in the subject.
    """
    scores, evidence = {}, {}
    for label, tiers in groups.items():
        total = pd.Series(0.0, index=subject.index)
        terms = pd.Series([[]] * len(subject), index=subject.index, dtype=object)
        for patterns, weight in tiers:
            in_subject = _matches(subject, patterns)
            in_body = _matches(body, patterns)
            only_body = [sorted(set(b) - set(s)) for s, b in zip(in_subject, in_body)]
            total += weight * (subject_weight * in_subject.str.len() + pd.Series([len(b) for b in only_body], index=subject.index))
            terms = terms + in_subject + pd.Series(only_body, index=subject.index, dtype=object)
        scores[label], evidence[label] = total, terms
    return pd.DataFrame(scores), pd.DataFrame(evidence)


def pick(scores: pd.DataFrame, evidence: pd.DataFrame, min_margin: float) -> pd.DataFrame:
    """The top-scoring label with its evidence and confidence; ``unknown`` when nothing
    scored or the runner-up is within ``min_margin`` of the winner."""
    values = scores.to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")
    top = np.take_along_axis(values, order[:, :1], axis=1)[:, 0]
    second = np.take_along_axis(values, order[:, 1:2], axis=1)[:, 0] if values.shape[1] > 1 else np.zeros(len(values))
    decided = (top > 0) & (top - second >= min_margin * top) & (top > second)
    labels = np.asarray(scores.columns)[order[:, 0]]
    ev = evidence.to_numpy()[np.arange(len(values)), order[:, 0]]
    total = values.sum(axis=1)
    return pd.DataFrame(
        {
            "label": np.where(decided, labels, "unknown"),
            "evidence": [", ".join(e) if d else "" for e, d in zip(ev, decided)],
            "confidence": np.where(total > 0, top / np.where(total > 0, total, 1), 0.0).round(2),
        },
        index=scores.index,
    )


def classify_texts(subject: pd.Series, body: pd.Series, policy: Policy) -> pd.DataFrame:
    """Topic and product of each (subject, body) from its words alone.

    Columns: ``text_topic, topic_evidence, topic_confidence, text_product, product_evidence``.
    """
    body = plain_text(body)
    subject = subject.fillna("").astype("str")
    topic_groups = {t: [(p.strong, 3), (p.weak, 1)] for t, p in policy.topic_patterns.items()}
    product_groups = {f: [(p, 1)] for f, p in policy.product_patterns.items()}
    topic = pick(*score(subject, body, topic_groups, policy.subject_weight), policy.min_margin)
    product = pick(*score(subject, body, product_groups, policy.subject_weight), policy.min_margin)
    return pd.DataFrame(
        {
            "text_topic": topic["label"],
            "topic_evidence": topic["evidence"],
            "topic_confidence": topic["confidence"],
            "text_product": product["label"],
            "product_evidence": product["evidence"],
        }
    )


def classify(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Add ``topic``, ``product`` and their evidence to a canonical message frame.

    Precedence (SPEC §3): an operational ``source``, then a ``category`` that is a Graph
    category (operational) or names a topic, then the text. A filled ``product`` wins.
    """
    texts = frame[["subject", "body"]].astype("str").fillna("")
    codes, distinct = pd.factorize(texts["subject"] + "\x1f" + texts["body"])
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    unique = texts.iloc[first].reset_index(drop=True)
    labels = classify_texts(unique["subject"], unique["body"], policy).iloc[codes].reset_index(drop=True)
    labels.index = frame.index

    source, category = frame["source"].astype("str"), frame["category"].astype("str")
    by_source = source.isin(policy.operational_sources)
    by_graph = category.isin(policy.graph_categories)
    by_category = category.isin(policy.topics)
    topic = np.select(
        [by_source.to_numpy(), by_graph.to_numpy(), by_category.to_numpy()],
        ["operational", "operational", category.to_numpy(dtype=object)],
        default=labels["text_topic"].to_numpy(dtype=object),
    )
    topic_evidence = np.select(
        [by_source.to_numpy(), (by_graph | by_category).to_numpy()],
        ["source " + source.fillna(""), "category " + category.fillna("")],
        default=labels["topic_evidence"].to_numpy(dtype=object),
    )
    given = frame["product"].astype("str").fillna("")
    has_product = given.ne("").to_numpy()
    return frame.assign(
        topic=pd.Categorical(topic, categories=policy.topics),
        topic_evidence=topic_evidence,
        topic_confidence=np.where(by_source | by_graph | by_category, 1.0, labels["topic_confidence"]),
        product=pd.Categorical(np.where(has_product, given, labels["text_product"]), categories=policy.products + ("unknown",)),
        product_evidence=np.where(has_product, "product " + given, labels["product_evidence"]),
    )

"""Classify each message's topic and product family (SPEC §3), and say why.

A source or category that already says the topic wins; a filled ``product`` column is
the product. Otherwise the text decides: every distinct (subject, body) is read once by
the policy's text model (:mod:`auditlib.textmodel`, a linear model over word and
character n-grams trained on the labelled corpus) and the result is mapped back to all
rows that share it, so a million templated messages cost about as much as their
distinct texts.

The model abstains rather than guesses: a label whose calibrated probability is below
the policy's threshold is ``unknown``, and so is an ``operational`` call while
subscription and marketing together keep real weight (calling such a message
operational would allow it). Every label quotes the n-grams that moved it most, and an
abstention quotes both sides.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from .frames import distinct_rows, expand
from .policy import Policy
from .textmodel import Head, Occurrences, TextModel

CHUNK = 5_000  # texts classified together
TEXT_COLUMNS = ["subject", "body", "source", "category", "product"]  # what a message's topic and product are decided from


def _choose(model: TextModel, head: Head, found: Occurrences, probability: np.ndarray, min_confidence: float,
            withheld: np.ndarray | None = None) -> pd.DataFrame:
    """The most probable label, its evidence and confidence; ``unknown`` where the
    probability is below ``min_confidence``, where ``withheld`` says so, or where the
    text has no feature the model knows. An abstention quotes the two likeliest labels."""
    rows = np.arange(found.rows)
    ranked = np.argsort(-probability, axis=1, kind="stable")
    best, second = ranked[:, 0], ranked[:, 1]
    confidence = probability[rows, best]
    labels = np.asarray(head.labels, dtype=object)
    silent = np.bincount(found.row, minlength=found.rows) == 0
    unsure = ~silent & ((confidence < min_confidence) | (withheld if withheld is not None else False))
    evidence = np.array(model.evidence(head, found, np.where(silent, -1, best)), dtype=object)
    if unsure.any():
        u = np.flatnonzero(unsure)
        other = np.array(model.evidence(head, found, np.where(unsure, second, -1)), dtype=object)[u]
        share = pd.Series(confidence[u]).map("{:.2f}".format), pd.Series(probability[u, second[u]]).map("{:.2f}".format)
        evidence[u] = ("uncertain: " + pd.Series(labels[best[u]]) + " " + share[0] + " " + pd.Series(evidence[u]) + " vs "
                       + pd.Series(labels[second[u]]) + " " + share[1] + " " + pd.Series(other)).to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "label": np.where(silent | unsure, "unknown", labels[best]),
            "evidence": evidence,
            "confidence": np.where(silent, 0.0, confidence).round(2),
        }
    )


def classify_texts(subject: pd.Series, body: pd.Series, policy: Policy) -> pd.DataFrame:
    """Topic and product of each (subject, body) from its words alone.

    Columns: ``text_topic, topic_evidence, topic_confidence, text_product, product_evidence``.
    Texts are read in chunks on all cores: Arrow and NumPy release the GIL, and
    chunk-sized arrays stay in cache.
    """
    model = policy.model
    starts = range(0, len(subject), CHUNK)
    with ThreadPoolExecutor(max_workers=min(len(starts), os.cpu_count() or 1) or 1) as pool:
        parts = list(pool.map(lambda i: _classify_chunk(model, subject.iloc[i:i + CHUNK], body.iloc[i:i + CHUNK], policy), starts))
    columns = ["text_topic", "topic_evidence", "topic_confidence", "text_product", "product_evidence"]
    return (pd.concat(parts) if parts else pd.DataFrame(columns=columns)).set_axis(subject.index)


def _classify_chunk(model: TextModel, subject: pd.Series, body: pd.Series, policy: Policy) -> pd.DataFrame:
    found = model.occurrences(subject, body)
    topic_head, product_head = model.heads["topic"], model.heads["product"]
    p = topic_head.probabilities(found)
    at = {label: i for i, label in enumerate(topic_head.labels)}
    withheld = (p.argmax(axis=1) == at["operational"]) & (p[:, at["subscription"]] + p[:, at["marketing"]] >= policy.crossed_guard)
    topic = _choose(model, topic_head, found, p, policy.min_topic_confidence, withheld)
    product = _choose(model, product_head, found, product_head.probabilities(found), policy.min_product_confidence)
    return pd.DataFrame(
        {
            "text_topic": topic["label"],
            "topic_evidence": topic["evidence"],
            "topic_confidence": topic["confidence"],
            "text_product": product["label"],
            "product_evidence": product["evidence"],
        },
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
    codes, unique = distinct_rows(frame, TEXT_COLUMNS)
    decided = _decide(unique.fillna("").astype("str"), policy)
    fixed = {"topic": tuple(policy.topics), "product": tuple(policy.products) + ("unknown",)}
    return frame.assign(**{column: expand(decided[column], codes, fixed.get(column)) for column in decided.columns})

"""Measure the topic and product classifier against a hand-labelled file.

Every verdict rests on the topic and the product, so their quality is measured, not
assumed: per language accuracy, per label precision and recall, confusion tables, and
the one mistake that matters most (a subscription or marketing message taken for an
operational one, which turns a violation into ``allowed``, or the reverse).

The labelled file has columns ``id, language, subject, body, topic, product`` and
optionally ``source_kind`` (CSV or JSON Lines; a folder means all its ``.csv`` files).
The split is by source kind, not by row: the kinds in ``TEST_KINDS`` form the ``test``
split, so a model trained on ``dev`` is measured on kinds of text it has never seen.
Without a ``source_kind`` column the source is ``source_repo`` where there is one.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .classify import classify_texts
from .io.labelled import read_labelled_files
from .policy import Policy

LABELLED_COLUMNS = ("id", "language", "subject", "body", "topic", "product")
# Source kinds held out as the test split: between them every topic, product and language.
TEST_KINDS = ("lifecycle_doc", "admin_help", "admin_insight", "partner_announcement", "newsletter", "security_alert", "product_docs")
CROSSED = ("subscription", "marketing")
CONFIDENCE_BUCKETS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # topics that must not be mistaken for operational

Classifier = Callable[[pd.Series, pd.Series, Policy], pd.DataFrame]


def split_of(kinds: pd.Series) -> pd.Series:
    """``test`` for the rows of a held-out source kind, else ``dev``."""
    return pd.Series(np.where(kinds.isin(TEST_KINDS), "test", "dev"), index=kinds.index, dtype="str")


def read_labelled(path: str | Path) -> pd.DataFrame:
    """A labelled file (``.csv`` or ``.jsonl``), or a folder of CSV files, as text columns
    plus ``source_kind`` and ``split``."""
    frame = read_labelled_files(path, LABELLED_COLUMNS)
    return frame.assign(split=split_of(frame["source_kind"]))


def predict(labelled: pd.DataFrame, policy: Policy, classifier: Classifier = classify_texts) -> pd.DataFrame:
    """The labelled rows with ``predicted_topic``, ``predicted_product`` and the evidence."""
    found = classifier(labelled["subject"], labelled["body"], policy)
    found.index = labelled.index
    return labelled.assign(
        predicted_topic=found["text_topic"].astype("str"),
        predicted_product=found["text_product"].astype("str"),
        topic_evidence=found["topic_evidence"],
        topic_confidence=found["topic_confidence"],
        product_evidence=found["product_evidence"],
    )


def confusion(truth: pd.Series, predicted: pd.Series, labels: tuple[str, ...]) -> pd.DataFrame:
    """Counts of (true label, predicted label): rows are the truth, columns the prediction."""
    table = pd.crosstab(pd.Categorical(truth, categories=labels), pd.Categorical(predicted, categories=labels),
                        dropna=False)
    table.index.name, table.columns.name = "true", "predicted"
    return table


def precision_recall(truth: pd.Series, predicted: pd.Series, labels: tuple[str, ...]) -> pd.DataFrame:
    """Precision, recall and support of each label (NaN where a label was never predicted or never true)."""
    table = confusion(truth, predicted, labels)
    hits = pd.Series([table.loc[label, label] for label in labels], index=labels)
    return pd.DataFrame(
        {
            "precision": (hits / table.sum(axis=0).astype("float").replace(0.0, np.nan)).round(3),
            "recall": (hits / table.sum(axis=1).astype("float").replace(0.0, np.nan)).round(3),
            "support": table.sum(axis=1),
        }
    )


def crossed_rates(truth: pd.Series, predicted: pd.Series) -> dict[str, float]:
    """Share of subscription/marketing messages called operational, and of operational ones
    called subscription/marketing: the mistakes that flip a verdict."""
    as_ops = truth.isin(CROSSED)
    ops = truth.eq("operational")
    return {
        "subscription_or_marketing_as_operational": float(predicted[as_ops].eq("operational").mean()) if as_ops.any() else 0.0,
        "operational_as_subscription_or_marketing": float(predicted[ops].isin(CROSSED).mean()) if ops.any() else 0.0,
    }


@dataclass(frozen=True)
class Evaluation:
    """Figures of one labelled set (or one language or split of it)."""

    rows: pd.DataFrame  # labelled rows with predictions and evidence
    topic_accuracy: pd.Series  # by language, plus "all"
    product_accuracy: pd.Series
    topic_scores: pd.DataFrame
    product_scores: pd.DataFrame
    topic_confusion: pd.DataFrame
    product_confusion: pd.DataFrame
    crossed: dict[str, float]

    @property
    def by_source(self) -> pd.DataFrame:
        """Topic and product accuracy per source kind: where the classifier transfers and where not."""
        r = self.rows
        right = pd.DataFrame({"topic": r["topic"].eq(r["predicted_topic"]), "product": r["product"].eq(r["predicted_product"])})
        table = right.groupby(r["source_kind"]).mean().round(3)
        return table.assign(rows=r.groupby("source_kind").size())

    @property
    def reliability(self) -> pd.DataFrame:
        """Per confidence bucket of the topics it decided: how many, the mean confidence and
        the accuracy. A calibrated classifier's accuracy matches its confidence."""
        r = self.rows[self.rows["predicted_topic"].ne("unknown")]
        bucket = pd.cut(r["topic_confidence"].astype(float), CONFIDENCE_BUCKETS, include_lowest=True)
        right = r["topic"].eq(r["predicted_topic"])
        table = pd.DataFrame({"rows": right.groupby(bucket, observed=False).size(),
                              "confidence": r["topic_confidence"].astype(float).groupby(bucket, observed=False).mean().round(3),
                              "accuracy": right.groupby(bucket, observed=False).mean().round(3)})
        table.index.name = "confidence"
        return table

    @property
    def errors(self) -> pd.DataFrame:
        """Rows whose topic or product was wrong, with the evidence that misled."""
        r = self.rows
        wrong = r["topic"].ne(r["predicted_topic"]) | r["product"].ne(r["predicted_product"])
        return r.loc[wrong, ["id", "source_kind", "topic", "predicted_topic", "topic_evidence", "product",
                             "predicted_product", "product_evidence", "subject"]]


def _accuracy(rows: pd.DataFrame, truth: str, predicted: str) -> pd.Series:
    correct = rows[truth].eq(rows[predicted])
    by_language = correct.groupby(rows["language"]).mean()
    return pd.concat([by_language, pd.Series({"all": correct.mean()})]).round(4)


def measure(rows: pd.DataFrame, policy: Policy) -> Evaluation:
    """The figures of rows that already carry predictions."""
    topics, products = tuple(policy.topics), tuple(policy.products) + ("unknown",)
    return Evaluation(
        rows=rows,
        topic_accuracy=_accuracy(rows, "topic", "predicted_topic"),
        product_accuracy=_accuracy(rows, "product", "predicted_product"),
        topic_scores=precision_recall(rows["topic"], rows["predicted_topic"], topics),
        product_scores=precision_recall(rows["product"], rows["predicted_product"], products),
        topic_confusion=confusion(rows["topic"], rows["predicted_topic"], topics),
        product_confusion=confusion(rows["product"], rows["predicted_product"], products),
        crossed=crossed_rates(rows["topic"], rows["predicted_topic"]),
    )


def evaluate(labelled: pd.DataFrame, policy: Policy, classifier: Classifier = classify_texts,
             split: str = "all", language: str | None = None) -> Evaluation:
    """Classify the labelled rows (optionally one split or one language) and measure the result."""
    rows = labelled if split == "all" else labelled[labelled["split"].eq(split)]
    if language:
        rows = rows[rows["language"].eq(language)]
    return measure(predict(rows, policy, classifier), policy)


def against_source(messages: pd.DataFrame, policy: Policy, classifier: Classifier = classify_texts) -> Evaluation:
    """How the text alone fares on messages whose source already says the topic (and product).

    The truth is what the source override decides (a Message Center post is operational;
    its services name the product); the prediction is the text classifier with that
    override switched off. Messages without a filled product count as product ``unknown``.
    """
    from .classify import classify

    truth = classify(messages, policy)
    language = messages["language"] if "language" in messages else pd.Series("", index=messages.index)
    labelled = pd.DataFrame(
        {
            "id": messages["message_id"].astype("str"),
            "language": language.fillna("").astype("str").replace("", "und"),
            "subject": messages["subject"].fillna("").astype("str"),
            "body": messages["body"].fillna("").astype("str"),
            "topic": truth["topic"].astype("str"),
            "product": truth["product"].astype("str"),
        }
    ).drop_duplicates("id")
    return measure(predict(labelled.assign(source_kind="source", split="dev"), policy, classifier), policy)


def report(evaluation: Evaluation, title: str = "") -> str:
    """A plain-text report of an evaluation, per language first."""
    accuracy = pd.DataFrame({"topic": evaluation.topic_accuracy, "product": evaluation.product_accuracy,
                             "rows": evaluation.rows.groupby("language").size()})
    accuracy.loc["all", "rows"] = len(evaluation.rows)
    accuracy["rows"] = accuracy["rows"].astype("int64")
    parts = [
        title,
        "Accuracy by language:\n" + accuracy.to_string(),
        "Crossed topics (target at most 1%): "
        + ", ".join(f"{name} {share:.1%}" for name, share in evaluation.crossed.items()),
        "Accuracy by source kind:\n" + evaluation.by_source.to_string(),
        "Reliability of the topic confidence (decided topics; unknown left out):\n" + evaluation.reliability.to_string(),
        "Topics:\n" + evaluation.topic_scores.to_string(),
        "Topic confusion (rows true, columns predicted):\n" + evaluation.topic_confusion.to_string(),
        "Products:\n" + evaluation.product_scores.to_string(),
        "Product confusion (rows true, columns predicted):\n" + evaluation.product_confusion.to_string(),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"

"""Patterns against a learned model on the held-out split of tests/eval/labelled.csv.

The learned model is TF-IDF over character 1-4-grams (no tokenizer, so Chinese works)
with logistic regression, one for topics and one for products, trained on the dev split
only. Prints both classifiers' figures on the test split. Needs scikit-learn
(``pip install auditlib[ml]``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from auditlib.classify import clean_subject, plain_text
from auditlib.evaluate import evaluate, read_labelled
from auditlib.policy import load_policy

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "eval" / "labelled.csv"


def document(subject: pd.Series, body: pd.Series, policy) -> pd.Series:
    """Subject twice (it says the most) and the plain body, as one text."""
    subject = clean_subject(subject, policy.reply_prefix)
    return subject + " \n " + subject + " \n " + plain_text(body).set_axis(subject.index)


def train(dev: pd.DataFrame, policy):
    """A classifier function (same shape as classify_texts) fitted on ``dev``."""
    def model(labels: pd.Series):
        pipe = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=1),
                             LogisticRegression(C=20, max_iter=2000))
        return pipe.fit(document(dev["subject"], dev["body"], policy), labels)

    topic, product = model(dev["topic"]), model(dev["product"])

    def classify(subject: pd.Series, body: pd.Series, policy) -> pd.DataFrame:
        docs = document(subject, body, policy)
        return pd.DataFrame({"text_topic": topic.predict(docs), "topic_evidence": "", "topic_confidence": topic.predict_proba(docs).max(axis=1),
                             "text_product": product.predict(docs), "product_evidence": ""}, index=subject.index)

    return classify


def main() -> None:
    policy = load_policy()
    labelled = read_labelled(LABELLED)
    learned = train(labelled[labelled["split"].eq("dev")], policy)
    for name, result in (("patterns", evaluate(labelled, policy, split="test")),
                         ("learned (char n-grams)", evaluate(labelled, policy, learned, split="test"))):
        figures = pd.DataFrame({"topic": result.topic_accuracy, "product": result.product_accuracy})
        print(f"{name} on the test split ({len(result.rows)} rows):\n{figures.to_string()}")
        print("  crossed: " + ", ".join(f"{k} {v:.1%}" for k, v in result.crossed.items()) + "\n")


if __name__ == "__main__":
    main()

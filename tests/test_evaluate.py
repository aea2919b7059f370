"""The labelled corpus, the shipped model trained from it, and the measuring itself
(checked on small examples worked out by hand)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from auditlib.cli import main
from auditlib.errors import InputError
from auditlib.evaluate import (
    TEST_KINDS, against_source, crossed_rates, evaluate, measure, precision_recall, read_labelled, split_of,
)
from auditlib.policy import load_policy

EVAL = Path(__file__).parent / "eval"
REAL = Path(__file__).resolve().parents[2] / "shared" / "real"
POLICY = load_policy()
needs_real = pytest.mark.skipif(not (REAL / "texts" / "items.csv").is_file(), reason="../shared/real not present")


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return read_labelled(EVAL / "corpus")


def test_the_corpus_is_large_bilingual_and_covers_every_topic_and_family(corpus):
    assert len(corpus) >= 1200 and corpus["id"].is_unique
    assert corpus["language"].eq("zh-CN").mean() >= 0.4
    for language in ("en", "zh-CN"):
        rows = corpus[corpus["language"].eq(language)]
        assert set(rows["topic"]) == set(POLICY.topics)
        assert set(rows["product"]) == set(POLICY.products) | {"unknown"}
    assert set(corpus["topic"]) <= set(POLICY.topics)
    assert corpus["subject"].str.strip().ne("").all() and corpus["body"].str.strip().ne("").all()


def test_the_test_split_is_whole_source_kinds_and_holds_every_topic(corpus):
    test = corpus[corpus["split"].eq("test")]
    assert set(test["source_kind"]) == set(TEST_KINDS)
    assert not set(test["source_kind"]) & set(corpus.loc[corpus["split"].eq("dev"), "source_kind"])
    assert set(test["topic"]) == set(POLICY.topics)
    # large enough to measure a percentage to about ±1.5 points, small enough to leave most kinds to learn from
    assert len(test) >= 1000 and 0.1 <= len(test) / len(corpus) <= 0.45


def test_split_follows_the_source_kind_alone():
    kinds = pd.Series(["newsletter", "billing_notice", "newsletter", "admin_help"])
    assert split_of(kinds).tolist() == ["test", "dev", "test", "test"]


@pytest.fixture(scope="module")
def dev_only_model(corpus, tmp_path_factory):
    """A model trained, as the shipped one is, but on the dev kinds only."""
    from auditlib.io.models import save_model
    from auditlib.training import train

    model, _ = train(corpus[corpus["split"].eq("dev")].reset_index(drop=True), POLICY, "dev-only", calibrate=False)
    path = tmp_path_factory.mktemp("model") / "dev-only.npz"
    save_model(model, path)
    return path


def test_a_model_trained_on_dev_kinds_transfers_to_the_held_out_kinds(corpus, dev_only_model):
    held_out = evaluate(corpus, replace(POLICY, model_path=dev_only_model), split="test")
    assert held_out.topic_accuracy["en"] >= 0.85 and held_out.topic_accuracy["zh-CN"] >= 0.85
    assert held_out.product_accuracy["all"] >= 0.85
    assert held_out.crossed["subscription_or_marketing_as_operational"] <= 0.05


def test_the_shipped_model_is_what_training_on_the_corpus_gives(corpus):
    """No stale model: retraining from the repository's corpus reproduces the shipped decisions."""
    from auditlib.io.models import load_model
    from auditlib.training import corpus_paths, design, read_corpus, train

    everything = read_corpus(corpus_paths())
    retrained, _ = train(everything, POLICY, POLICY.version, calibrate=False)
    shipped = load_model(POLICY.model_path)
    assert shipped.version == POLICY.version and np.array_equal(shipped.keys, retrained.keys)
    for head in ("topic", "product"):
        ours, theirs = shipped.heads[head], retrained.heads[head]
        x = design(shipped, everything)
        assert ((x @ ours.weights + ours.bias).argmax(axis=1) == (x @ theirs.weights + theirs.bias).argmax(axis=1)).mean() >= 0.995


@needs_real
def test_real_microsoft_texts_are_read_far_better_than_by_chance():
    """The labelled real texts of ../shared/real/texts were never trained on: a floor that
    catches a regression, well below the issue's goal (see the README for the figures)."""
    result = evaluate(read_labelled(REAL / "texts" / "items.csv"), POLICY)
    assert result.topic_accuracy["en"] >= 0.83 and result.topic_accuracy["zh-CN"] >= 0.83
    assert result.product_accuracy["all"] >= 0.87
    assert result.crossed["subscription_or_marketing_as_operational"] <= 0.07


@pytest.mark.skipif(not (REAL / "message-center").is_dir(), reason="../shared/real not present")
def test_real_message_center_posts_read_as_operational_from_text_alone():
    from auditlib.io.log import read_log

    posts = read_log(REAL / "message-center", options={"customer_ids": ["c-any"]}).messages
    result = against_source(posts, POLICY)
    assert len(result.rows) == 149
    assert result.crossed["operational_as_subscription_or_marketing"] <= 0.05
    assert result.topic_accuracy["all"] >= 0.85


def test_precision_recall_and_crossed_rates_on_a_worked_example():
    truth = pd.Series(["subscription", "subscription", "operational", "marketing"])
    predicted = pd.Series(["subscription", "operational", "operational", "unknown"])
    scores = precision_recall(truth, predicted, POLICY.topics)
    assert scores.loc["subscription", ["precision", "recall"]].tolist() == [1.0, 0.5]
    assert scores.loc["operational", ["precision", "recall"]].tolist() == [0.5, 1.0]
    assert scores.loc["marketing", "recall"] == 0.0
    assert crossed_rates(truth, predicted) == {
        "subscription_or_marketing_as_operational": pytest.approx(1 / 3),
        "operational_as_subscription_or_marketing": 0.0,
    }


def test_reliability_and_per_source_figures_on_a_worked_example():
    rows = pd.DataFrame({
        "id": list("abcdef"), "language": "en", "source_kind": ["x", "x", "x", "y", "y", "y"],
        "topic": ["subscription", "operational", "marketing", "operational", "operational", "subscription"],
        "predicted_topic": ["subscription", "operational", "operational", "operational", "unknown", "subscription"],
        "topic_confidence": [0.95, 0.92, 0.55, 0.58, 0.3, 0.85],
        "product": "unknown", "predicted_product": ["unknown"] * 5 + ["azure"],
    })
    result = measure(rows, POLICY)
    table = result.reliability
    assert table.loc[table.index[-1], ["rows", "accuracy"]].tolist() == [2, 1.0]  # (0.9, 1.0]: a and b, both right
    assert table.loc[table.index[1], ["rows", "accuracy"]].tolist() == [2, 0.5]  # (0.5, 0.6]: c wrong, d right
    assert table["rows"].sum() == 5  # e abstained: not a decided topic
    by = result.by_source
    assert by.loc["x", ["topic", "product", "rows"]].tolist() == [pytest.approx(2 / 3, abs=1e-3), 1.0, 3]
    assert by.loc["y", ["topic", "product"]].tolist() == [pytest.approx(2 / 3, abs=1e-3), pytest.approx(2 / 3, abs=1e-3)]


def test_a_labelled_file_without_a_label_column_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,language,subject,body,topic\n1,en,Hi,,unknown\n", encoding="utf-8")
    with pytest.raises(InputError, match="product"):
        read_labelled(bad)


def test_without_a_source_kind_the_file_or_its_source_repo_names_the_source(tmp_path):
    plain = tmp_path / "mine.csv"
    plain.write_text("id,language,subject,body,topic,product\n1,en,Hi,,unknown,unknown\n", encoding="utf-8")
    assert read_labelled(plain)["source_kind"].tolist() == ["mine"]
    sourced = tmp_path / "real.csv"
    sourced.write_text("id,language,subject,body,topic,product,source_repo\n1,en,Hi,,unknown,unknown,o/r\n", encoding="utf-8")
    assert read_labelled(sourced)["source_kind"].tolist() == ["o/r"]


def test_cli_prints_per_language_per_source_reliability_and_confusion(tmp_path):
    out = CliRunner().invoke(main, ["evaluate", str(EVAL / "corpus"), "--split", "test", "--language", "zh-CN", "--errors"])
    assert out.exit_code == 0, out.output
    for heading in ("Accuracy by language:", "Accuracy by source kind:", "Reliability of the topic confidence",
                    "Topic confusion", "Product confusion"):
        assert heading in out.output
    assert "zh-CN" in out.output and "newsletter" in out.output

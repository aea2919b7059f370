"""The text model's parts, on inputs small enough to work out by hand: tokens, n-gram
keys and their names, cue look-up, scores, probabilities and the evidence quoted."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auditlib.textfeatures import SUBJECT, TEXT, TokenTable, tokenise
from auditlib.io.models import load_model, save_model
from auditlib.policy import load_policy
from auditlib.textmodel import Head, TextModel


def tokens_of(subject: str, body: str = "", reply_prefix: str = "", stemmed: bool = True,
              whole: tuple[str, ...] = ()) -> list[str]:
    return tokenise(pd.Series([subject]), pd.Series([body]), reply_prefix, whole, stemmed).token.to_pylist()


def test_words_are_lower_cased_and_chinese_is_split_into_characters():
    assert tokens_of("Your Invoice-Ready", "续订 Azure 订阅!", stemmed=False) == ["your", "invoice", "ready", "续", "订", "azure", "订", "阅"]


def test_html_and_reply_markers_do_not_become_tokens():
    assert tokens_of("RE: Fwd: Notice", "<p>Planned&nbsp;<b>maintenance</b></p>", r"^(?:\s*(?:re|fwd)\s*:\s*)+") == [
        "notic", "plann", "maintenanc"]


def test_english_endings_and_spellings_fold_together():
    assert tokens_of("Renewals renewed renewing renews", "licence licences license licensed") == [
        "renewal", "renew", "renew", "renew", "licens", "licens", "licens", "licens"]
    assert tokens_of("Invoice invoices invoiced", "") == ["invoic"] * 3
    assert tokens_of("is bus", "") == ["is", "bus"]  # too short to have an ending


def test_a_product_name_is_not_folded_into_a_common_word():
    whole = ("dynamics", "windows", "teams")
    assert tokens_of("Dynamics 365 and Microsoft Dynamics", "dynamic groups, Dynamic Data Exchange", whole=whole) == [
        "dynamics", "365", "and", "microsoft", "dynamics", "dynamic", "group", "dynamic", "data", "exchang"]
    assert tokens_of("Windows and Teams", "a maintenance window; the team", whole=whole) == [
        "windows", "and", "teams", "a", "maintenanc", "window", "the", "team"]
    assert tokens_of("Windows and Teams") == ["window", "and", "team"]  # what stemming alone makes of them


def test_the_shipped_model_reads_texts_as_the_policy_says():
    policy = load_policy()
    assert "windows" in policy.whole_words
    assert policy.model.whole_words == policy.whole_words and policy.model.reply_prefix == policy.reply_prefix


def test_subject_and_body_are_separate_runs_of_one_row():
    found = tokenise(pd.Series(["a b", "c"]), pd.Series(["d", ""]))
    assert found.in_subject == 3
    assert found.row.tolist() == [0, 0, 1, 0]
    assert found.seq.tolist() == [0, 0, 2, 1]  # subject runs even, body runs odd


TABLE = TokenTable(np.array(["invoic", "is", "ready", "续", "订"], dtype=object),  # stems, as the tokeniser gives them
                   np.array(["invoice", "is", "ready", "续", "订"], dtype=object))  # ...and as names show them


def all_keys(subject: str, body: str) -> dict[int, list[int]]:
    """field -> sorted valid keys of one text."""
    out: dict[int, list[int]] = {TEXT: [], SUBJECT: []}
    for grams in TABLE.ngrams(tokenise(pd.Series([subject]), pd.Series([body]))):
        for key in grams.key[grams.key >= 0].tolist():
            out[key & 1].append(key)
    return {field: sorted(keys) for field, keys in out.items()}


def test_ngram_keys_span_known_neighbours_within_one_run_only():
    b = TABLE.base  # 6
    keys = all_keys("invoice ready", "is")
    # text field: invoice(1), ready(3), is(2), the pair (invoice, ready); no pair across subject and body
    assert keys[TEXT] == sorted(k * 2 + TEXT for k in (1, 3, 2, 1 * b + 3))
    assert keys[SUBJECT] == sorted(k * 2 + SUBJECT for k in (1, 3, 1 * b + 3))


def test_an_unknown_token_breaks_ngrams_through_it():
    keys = all_keys("", "invoice unknownword ready")
    assert keys[TEXT] == sorted(k * 2 for k in (1, 3))


def test_names_read_as_written():
    b = TABLE.base
    assert TABLE.name(np.array([(1 * b + 3) * 2, ((4 * b) + 5) * 2 + 1])) == ["invoice ready", "续订 (subject)"]
    assert TABLE.keys_of(["invoice ready", "续订", "ready invoice is nope"]).tolist() == [(1 * b + 3) * 2, (4 * b + 5) * 2, -1]


def tiny_model() -> TextModel:
    """Features: "invoice" (text), "invoice" (subject); one cue group "topic:billing" holding "续订"."""
    keys = np.array([1 * 2 + TEXT, 1 * 2 + SUBJECT])
    cue_keys = TABLE.keys_of(["续订"])
    weights = np.array([[2.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [3.0, 0.0], [0.0, 0.0]])
    # columns: 2 n-grams, then the cue group's text and subject features, then padding unused
    head = Head(("subscription", "operational"), weights[:4], np.array([0.0, 0.5]), 1.0)
    return TextModel("t", TABLE, keys, np.array(['"invoice"', '"invoice" (subject)', '"续订"'], dtype=object),
                     cue_keys, np.array([0]), ("topic:billing",), {"topic": head}, "^re: ", ("teams",))


def test_scores_add_weights_per_occurrence_scaled_by_the_square_root_of_their_count():
    model = tiny_model()
    found = model.occurrences(pd.Series(["invoice", "", ""]), pd.Series(["", "续订", "hello"]))
    # text 0: "invoice" in text and subject -> 2 occurrences, score (2 + 1)/√2 ; text 1: cue once -> 0 (cue text column weight 0)
    assert found.row.tolist().count(0) == 2 and found.row.tolist().count(1) == 1 and 2 not in found.row.tolist()
    p = model.heads["topic"].probabilities(found)
    s0 = 3 / np.sqrt(2)
    assert p[0, 0] == pytest.approx(np.exp(s0) / (np.exp(s0) + np.exp(0.5)))
    assert p[2, 0] == pytest.approx(np.exp(0) / (np.exp(0) + np.exp(0.5)))  # no feature: the bias alone


def test_evidence_quotes_the_heaviest_pulls_towards_the_label_once_each():
    model = tiny_model()
    found = model.occurrences(pd.Series(["invoice", "invoice"]), pd.Series(["invoice invoice", ""]))
    evidence = model.evidence(model.heads["topic"], found, np.array([0, -1]))
    assert evidence.tolist() == ['"invoice", "invoice" (subject)', ""]


def test_a_saved_model_loads_back_equal(tmp_path):
    model = tiny_model()
    save_model(model, tmp_path / "m.npz")
    again = load_model(tmp_path / "m.npz")
    assert again.version == "t" and again.groups == model.groups
    assert np.array_equal(again.keys, model.keys) and np.array_equal(again.cue_keys, model.cue_keys)
    assert np.allclose(again.heads["topic"].weights, model.heads["topic"].weights)
    assert again.table.tokens.tolist() == model.table.tokens.tolist()
    assert (again.reply_prefix, again.whole_words) == ("^re: ", ("teams",))

"""Deciding in JupyterLab (issue 14, item 3): auditlib.review's helpers record decisions that the
next load applies, and notebooks/review.ipynb runs them under papermill on the sample."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest

import auditlib
from auditlib import load_policy, review
from auditlib.engines import AuditJob, run_engine
from auditlib.errors import InputError

from conftest import ROOT

SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("review") / "verdicts.csv"
    run_engine("pandas", AuditJob((SAMPLE / "messages.csv",), SAMPLE / "registry", path, load_policy(), evidence=True))
    return path


@pytest.fixture(scope="module")
def flagged(verdicts) -> list[dict]:
    """The flagged rows as the csv module reads them: what the tests count by hand."""
    with verdicts.open(encoding="utf-8", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["verdict"] in ("violation", "needs_review")]


def biggest_pattern(rows: list[dict]) -> tuple[str, list[dict]]:
    patterns: dict[str, list[dict]] = {}
    for r in rows:
        patterns.setdefault(r["pattern_id"], []).append(r)
    return max(patterns.items(), key=lambda kv: (len(kv[1]), kv[0]))


def test_a_recorded_pattern_decision_is_applied_on_the_next_load(verdicts, flagged, tmp_path):
    decisions = tmp_path / "reviews" / "decisions.csv"
    decisions.parent.mkdir()
    pattern, rows = biggest_pattern(flagged)
    before = pd.Timestamp.now(tz="UTC").floor("s")
    added = review.record(decisions, [pattern, pattern], "accepted_risk", "ana@example.com", "agreed with the partner")
    assert len(added) == 1  # an id chosen twice is recorded once
    reviewed = review.load(verdicts, decisions)
    mine = reviewed[reviewed["pattern_id"] == pattern]
    assert len(mine) == len(rows) >= 3
    assert set(mine["review_decision"]) == {"accepted_risk"} and set(mine["reviewed_by"]) == {"ana@example.com"}
    assert mine["reviewed_at"].between(before, pd.Timestamp.now(tz="UTC")).all()
    assert reviewed["review_decision"].notna().sum() == len(rows)
    assert reviewed["verdict"].astype("str").tolist() == pd.read_csv(verdicts, dtype=str)["verdict"].tolist()


def test_a_later_finding_decision_shows_and_the_history_keeps_both(verdicts, flagged, tmp_path):
    decisions = tmp_path / "decisions.csv"
    pattern, rows = biggest_pattern(flagged)
    finding = rows[0]["finding_id"]
    review.record(decisions, [pattern], "false_positive", "ana", "a partner's own mail")
    review.record(decisions, [finding], "confirmed", "bo", "this one is Microsoft's")
    reviewed = review.load(verdicts, decisions)
    row = reviewed[reviewed["finding_id"] == finding].iloc[0]
    assert (row["review_decision"], row["reviewed_by"]) == ("confirmed", "bo")
    assert (reviewed.loc[reviewed["pattern_id"] == pattern, "review_decision"] == "false_positive").sum() == len(rows) - 1
    past = review.history(reviewed, decisions, finding)
    assert past[["by", "decision", "reviewer", "in_force"]].values.tolist() == [
        ["pattern", "false_positive", "ana", False], ["finding", "confirmed", "bo", True]]
    assert past["decided_at"].is_monotonic_increasing


def test_the_queue_leaves_decided_findings_out_and_filters(verdicts, flagged, tmp_path):
    decisions = tmp_path / "decisions.csv"
    pattern, rows = biggest_pattern(flagged)
    review.record(decisions, [pattern], "escalated", "ana")
    reviewed = review.load(verdicts, decisions)
    assert len(review.queue(reviewed)) == len(flagged) - len(rows)
    assert len(review.queue(reviewed, decided=True)) == len(flagged)
    sender = rows[0]["sender_address"]
    by_sender = [r for r in flagged if r["sender_address"].lower() == sender.lower() and r["pattern_id"] != pattern]
    assert len(review.queue(reviewed, sender=sender.upper())) == len(by_sender)
    rule = [r for r in flagged if r["rule_id"] == "CSP-COMM-2" and r["pattern_id"] != pattern]
    assert len(review.queue(reviewed, rule="CSP-COMM-2")) == len(rule) > 0
    assert review.queue(reviewed, pattern=pattern).empty
    assert len(review.queue(reviewed, pattern=pattern, decided=True)) == len(rows)
    registry = auditlib.read_registry(SAMPLE / "registry")
    partner = review.queue(reviewed, registry, partner="P1001")
    own = [r for r in flagged if "P1001" in r["partner_ids"].split(";") and r["pattern_id"] != pattern]  # P1001 has no resellers
    assert len(partner) == len(own) > 0
    with pytest.raises(ValueError, match="registry"):
        review.queue(reviewed, partner="P1001")
    by_pattern = review.patterns(review.queue(reviewed))
    assert by_pattern["findings"].sum() == len(flagged) - len(rows) and by_pattern["pattern_id"].is_unique


def test_a_bad_decision_is_refused_and_nothing_written(tmp_path, flagged):
    decisions = tmp_path / "decisions.csv"
    review.record(decisions, [flagged[0]["finding_id"]], "fixed", "ana")
    before = decisions.read_bytes()
    with pytest.raises(InputError, match="column decision"):
        review.record(decisions, [flagged[1]["finding_id"]], "ignored", "ana")
    with pytest.raises(InputError, match="column reviewer"):
        review.record(decisions, [flagged[1]["finding_id"]], "fixed", "")
    assert decisions.read_bytes() == before


def test_the_review_notebook_records_a_decision_on_the_sample(verdicts, flagged, tmp_path):
    import papermill as pm

    from auditlib.kernels import InterpreterKernelManager

    pattern, rows = biggest_pattern(flagged)
    finding = next(r for r in flagged if r["pattern_id"] != pattern)["finding_id"]
    decisions = tmp_path / "decisions.csv"
    executed = tmp_path / "review.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "review.ipynb"), str(executed), cwd=str(ROOT / "notebooks"),
                        parameters={"verdicts": str(verdicts), "decisions": str(decisions), "reviewer": "nb-test",
                                    "chosen": [pattern, finding], "decision": "accepted_risk", "comment": "=from the notebook",
                                    "finding": finding},
                        progress_bar=False, kernel_manager_class=InterpreterKernelManager)
    with decisions.open(encoding="utf-8", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert [(r["id"], r["decision"], r["reviewer"]) for r in written] == [(pattern, "accepted_risk", "nb-test"),
                                                                          (finding, "accepted_risk", "nb-test")]
    assert {r["comment"] for r in written} == {"'=from the notebook"}  # a formula guarded in the file
    book = json.loads(executed.read_text(encoding="utf-8"))
    text = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/html", ""))
                   for c in book["cells"] for o in c.get("outputs", []))
    assert f"{len(flagged)} findings await a decision" in text
    assert "recorded 2 decision(s)" in text
    assert finding in text and "=from the notebook" in text
    reviewed = review.load(verdicts, decisions)
    assert reviewed["review_decision"].notna().sum() == len(rows) + 1

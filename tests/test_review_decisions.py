"""Review decisions that stick (issue 14, item 2): read from a file, applied by finding and by
pattern, expiring, the latest winning, refused when bad, warned when they name nothing."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from auditlib import load_policy
from auditlib.engines import AuditJob, run_engine
from auditlib.errors import InputError
from auditlib.findings import awaiting_review, open_violations
from auditlib.io.decisions import append_decisions, read_decisions
from auditlib.review_decisions import REVIEW_COLUMNS, apply_decisions, history

from conftest import ROOT

SAMPLE = ROOT / "data" / "sample"
HEADER = "id,decision,reviewer,decided_at,comment,expires"
F1, F2, F3, F4 = (f"F{n:016x}" for n in (1, 2, 3, 4))
PA, PB = "P" + "a" * 16, "P" + "b" * 16


def verdicts() -> pd.DataFrame:
    """Four flagged rows by hand: F1 and F2 of pattern PA (March and July 2025), F3 of pattern PB,
    F4 of PB too; and one allowed row without ids."""
    rows = [("m1", "2025-03-10T09:00:00Z", "violation", F1, PA), ("m2", "2025-07-01T09:00:00Z", "violation", F2, PA),
            ("m3", "2025-04-01T09:00:00Z", "needs_review", F3, PB), ("m4", "2025-05-01T09:00:00Z", "needs_review", F4, PB),
            ("m5", "2025-05-02T09:00:00Z", "allowed", None, None)]
    frame = pd.DataFrame(rows, columns=["message_id", "sent_at", "verdict", "finding_id", "pattern_id"])
    return frame.assign(sent_at=pd.to_datetime(frame["sent_at"], utc=True), subject="s")


def decisions_file(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "decisions.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def reviewed(tmp_path: Path, *rows: str) -> pd.DataFrame:
    return apply_decisions(verdicts(), read_decisions(decisions_file(tmp_path, *rows)).table).set_index("message_id")


def test_a_finding_decision_marks_that_row_only_and_never_the_verdict(tmp_path):
    out = reviewed(tmp_path, f"{F1},false_positive,ana,2025-08-01T10:00:00Z,not about billing,")
    assert out.loc["m1", "review_decision"] == "false_positive" and out.loc["m1", "reviewed_by"] == "ana"
    assert out.loc["m1", "reviewed_at"] == pd.Timestamp("2025-08-01T10:00:00Z")
    assert out.loc["m1", "review_comment"] == "not about billing"
    assert out.loc[["m2", "m3", "m4", "m5"], "review_decision"].isna().all()
    assert out["verdict"].tolist() == ["violation", "violation", "needs_review", "needs_review", "allowed"]
    # m1 dismissed: one open violation (m2) of two; no needs_review row settled
    assert open_violations(out).tolist() == [False, True, False, False, False]
    assert awaiting_review(out).tolist() == [False, False, True, True, False]


def test_columns_follow_the_ids_and_come_before_the_subject(tmp_path):
    out = reviewed(tmp_path, f"{F1},confirmed,ana,2025-08-01,,").reset_index()
    assert list(out.columns) == ["message_id", "sent_at", "verdict", "finding_id", "pattern_id", *REVIEW_COLUMNS, "subject"]


def test_a_pattern_decision_covers_every_row_of_the_pattern(tmp_path):
    out = reviewed(tmp_path, f"{PB},accepted_risk,bo,2025-06-01,known partner,")
    assert out.loc[["m3", "m4"], "review_decision"].tolist() == ["accepted_risk", "accepted_risk"]
    assert out.loc[["m1", "m2", "m5"], "review_decision"].isna().all()
    assert awaiting_review(out).sum() == 0  # both needs_review rows settled


def test_an_expiring_pattern_decision_covers_mail_sent_before_it_expires(tmp_path):
    # PA: m1 sent 2025-03-10 (before 2025-06-01: covered), m2 sent 2025-07-01 (after: open again)
    out = reviewed(tmp_path, f"{PA},accepted_risk,ana,2025-03-15,until the contract moves,2025-06-01")
    assert out.loc["m1", "review_decision"] == "accepted_risk"
    assert pd.isna(out.loc["m2", "review_decision"])
    assert open_violations(out).tolist() == [False, True, False, False, False]


def test_the_latest_decision_for_an_id_wins_and_the_history_keeps_both(tmp_path):
    rows = (f"{F3},escalated,bo,2025-09-01T08:00:00Z,asked the partner,",
            f"{F3},false_positive,ana,2025-08-01T08:00:00Z,first look,")  # the file's order is not time order
    out = reviewed(tmp_path, *rows)
    assert out.loc["m3", "review_decision"] == "escalated" and out.loc["m3", "reviewed_by"] == "bo"
    past = history(verdicts(), read_decisions(tmp_path / "decisions.csv").table)
    assert past[["finding_id", "decision", "in_force"]].values.tolist() == [[F3, "false_positive", False], [F3, "escalated", True]]
    assert past["row"].tolist() == [2, 1]  # the rows of the file they came from


def test_a_findings_own_decision_beats_a_later_one_on_its_pattern(tmp_path):
    rows = (f"{F1},confirmed,ana,2025-08-01,this one is real,", f"{PA},false_positive,bo,2025-09-01,sender is a partner,")
    out = reviewed(tmp_path, *rows)
    assert out.loc["m1", "review_decision"] == "confirmed"  # the finding's own, though older
    assert out.loc["m2", "review_decision"] == "false_positive"  # the pattern's
    past = history(verdicts(), read_decisions(tmp_path / "decisions.csv").table)
    m1 = past[past["finding_id"] == F1]
    assert m1[["by", "decision", "in_force"]].values.tolist() == [["finding", "confirmed", True], ["pattern", "false_positive", False]]


def test_an_expired_latest_decision_leaves_the_earlier_one_in_force(tmp_path):
    rows = (f"{PA},confirmed,ana,2025-02-01,,", f"{PA},accepted_risk,bo,2025-05-01,for a quarter,2025-06-01")
    out = reviewed(tmp_path, *rows)
    assert out.loc["m1", "review_decision"] == "accepted_risk"  # sent in March: the later decision covers it
    assert out.loc["m2", "review_decision"] == "confirmed"  # sent in July: that one had expired
    past = history(verdicts(), read_decisions(tmp_path / "decisions.csv").table)
    m2 = past[past["finding_id"] == F2]
    assert m2[["decision", "covers", "in_force"]].values.tolist() == [["confirmed", True, True], ["accepted_risk", False, False]]


def test_applying_again_replaces_the_review_columns(tmp_path):
    first = apply_decisions(verdicts(), read_decisions(decisions_file(tmp_path, f"{F1},confirmed,ana,2025-08-01,,")).table)
    again = apply_decisions(first, read_decisions(decisions_file(tmp_path, f"{F2},fixed,bo,2025-08-01,,")).table)
    assert again.columns.tolist() == first.columns.tolist()
    assert again["review_decision"].tolist()[:2] == [None, "fixed"]


# ----------------------------------------------------------------------------- the file

def test_a_file_is_read_with_its_vocabulary_times_and_optional_expiry(tmp_path):
    path = decisions_file(tmp_path, f"{F1}, False_Positive ,ana,2025-08-01T12:00:00+02:00,\"a, b\"",
                          f"{PA},fixed,bo,2025-08-02,,2025-12-01", header="id,decision,reviewer,decided_at,comment")
    path.write_text(path.read_text().replace(f"{PA},fixed,bo,2025-08-02,,2025-12-01", f"{PA},fixed,bo,2025-08-02,"))
    table = read_decisions(path).table
    assert table["decision"].tolist() == ["false_positive", "fixed"]
    assert table["decided_at"].tolist() == [pd.Timestamp("2025-08-01T10:00:00Z"), pd.Timestamp("2025-08-02T00:00:00Z")]
    assert table["expires"].isna().all() and table["comment"].tolist()[0] == "a, b"


GOOD = f"{F2},confirmed,bo,2025-07-01,fine,"


@pytest.mark.parametrize("lines, where", [
    (["id,decision,reviewer,comment", f"{F1},fixed,ana,x"], "row header, column decided_at"),
    ([HEADER, GOOD, f"{F1},dismissed,ana,2025-08-01,x,"], "row 2, column decision"),
    ([HEADER, GOOD, f"{F1},fixed,ana,last tuesday,x,"], "row 2, column decided_at"),
    ([HEADER, GOOD, f"{F1},fixed,ana,2025-08-01,x,soon"], "row 2, column expires"),
    ([HEADER, GOOD, f"F123,fixed,ana,2025-08-01,x,"], "row 2, column id"),
    ([HEADER, GOOD, f"{F1},fixed, ,2025-08-01,x,"], "row 2, column reviewer"),
    ([HEADER, GOOD, ",,,,,", f"{F1},fixed,ana,2025-13-01,x,"], "row 3, column decided_at"),  # a spreadsheet's blank row counts
])
@pytest.mark.filterwarnings("ignore:.*blank rows skipped")
def test_a_bad_decision_file_is_refused_naming_file_row_and_column(tmp_path, lines, where):
    path = decisions_file(tmp_path, *lines[1:], header=lines[0])
    with pytest.raises(InputError) as err:
        read_decisions(path)
    assert str(err.value).startswith(f"{path}, {where}: ")
    path.write_text("\n".join([HEADER, GOOD, f"{F1},fixed,ana,2025-08-01,x,"]) + "\n")  # the control: mended
    assert len(read_decisions(path).table) == 2


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditlib", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env=os.environ.copy())


@pytest.fixture(scope="module")
def sample_ids(tmp_path_factory) -> dict[str, list[dict]]:
    """The sample audited once; its flagged rows (read with the csv module) to pick ids from."""
    out = tmp_path_factory.mktemp("plain") / "v.csv"
    assert run("audit", SAMPLE / "messages.csv", "--registry", SAMPLE / "registry", "--output", out).returncode == 0
    with out.open(encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["finding_id"]]
    return {"violation": [r for r in rows if r["verdict"] == "violation"], "needs_review": [r for r in rows if r["verdict"] == "needs_review"]}


@pytest.mark.parametrize("row, where", [
    (f"{F1},dismissed,ana,2025-08-01,x,", "row 2, column decision"),
    (f"{F1},fixed,ana,yesterday,x,", "row 2, column decided_at"),
])
def test_the_command_refuses_a_bad_decision_file_with_one_line_and_exit_2(tmp_path, row, where):
    path = decisions_file(tmp_path, f"{F2},confirmed,bo,2025-07-01,,", row)
    done = run("audit", SAMPLE / "messages.csv", "--registry", SAMPLE / "registry", "--output", tmp_path / "v.csv", "--decisions", path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"auditlib: error: {path}, {where}: ")
    assert not (tmp_path / "v.csv").exists()
    missing = tmp_path / "short.csv"
    missing.write_text(f"id,decision,decided_at,comment\n{F1},fixed,2025-08-01,x\n")
    done = run("audit", SAMPLE / "messages.csv", "--registry", SAMPLE / "registry", "--output", tmp_path / "v.csv", "--decisions", missing)
    assert done.returncode == 2 and done.stderr.startswith(f"auditlib: error: {missing}, row header, column reviewer: missing")


def test_an_id_naming_nothing_is_a_warning_kept_in_the_manifest(tmp_path, sample_ids):
    real = sample_ids["violation"][0]["finding_id"]
    path = decisions_file(tmp_path, f"{real},confirmed,ana,2025-08-01,,", f"{F1},fixed,ana,2025-08-01,typo,")
    done = run("audit", SAMPLE / "messages.csv", "--registry", SAMPLE / "registry", "--output", tmp_path / "v.parquet", "--decisions", path)
    assert done.returncode == 0, done.stderr
    expected = f"{path}, row 2, column id: {F1} matches no finding or pattern of these verdicts"
    assert f"auditlib: warning: {expected}" in done.stderr
    manifest = json.loads((tmp_path / "v.parquet.manifest.json").read_text())
    assert manifest["warnings"] == [expected]
    assert str(path) in manifest["inputs"] and manifest["options"]["decisions"] == str(path)
    out = pd.read_parquet(tmp_path / "v.parquet")
    assert out.loc[out["finding_id"] == real, "review_decision"].tolist() == ["confirmed"]
    assert out["review_decision"].notna().sum() == 1


def test_decisions_apply_alike_in_memory_in_batches_and_on_dask(tmp_path, sample_ids, cluster):
    """A pattern with several rows, a finding of another and a needs_review finding: batches and Dask
    partitions of 333 rows split patterns between them, yet every row gets what the whole log gets."""
    by_pattern: dict[str, list[dict]] = {}
    for r in sample_ids["violation"]:
        by_pattern.setdefault(r["pattern_id"], []).append(r)
    pattern, rows = max(by_pattern.items(), key=lambda kv: len(kv[1]))
    other = next(r for r in sample_ids["violation"] if r["pattern_id"] != pattern)
    queued = sample_ids["needs_review"][0]
    path = decisions_file(tmp_path, f"{pattern},accepted_risk,ana,2025-08-01,,", f"{other['finding_id']},false_positive,bo,2025-08-02,,",
                          f"{queued['finding_id']},confirmed,bo,2025-08-03,,")
    decisions = read_decisions(path)
    policy = load_policy()
    job = AuditJob((SAMPLE / "messages.csv",), SAMPLE / "registry", tmp_path / "whole.csv", policy, decisions=decisions)
    run_engine("pandas", job)
    run_engine("pandas", AuditJob(job.messages, job.registry_dir, tmp_path / "batched.csv", policy, decisions=decisions, batch_rows=333))
    run_engine("dask", AuditJob(job.messages, job.registry_dir, tmp_path / "dask.csv", policy, decisions=decisions, batch_rows=333,
                                scheduler=cluster))
    whole, batched, on_dask = (pd.read_csv(tmp_path / f"{n}.csv", dtype=str).set_index(["message_id", "recipient_address"])
                               for n in ("whole", "batched", "dask"))
    pd.testing.assert_frame_equal(batched.loc[whole.index], whole)
    pd.testing.assert_frame_equal(on_dask.loc[whole.index], whole)
    decided = whole[whole["review_decision"].notna()]
    assert len(rows) >= 3 and len(decided) == len(rows) + 2
    assert set(decided.loc[decided["pattern_id"] == pattern, "review_decision"]) == {"accepted_risk"}
    # dismissed: the pattern's violations and the other finding; the needs_review row leaves the queue
    assert open_violations(whole.assign(verdict=whole["verdict"])).sum() == len(sample_ids["violation"]) - len(rows) - 1
    assert awaiting_review(whole).sum() == len(sample_ids["needs_review"]) - 1


# ----------------------------------------------------------------------------- recording

def test_appending_keeps_earlier_rows_as_written_and_guards_formulas(tmp_path):
    path = decisions_file(tmp_path, f"{F1},Confirmed,ana,2025-08-01 10:00,hand written,")
    new = pd.DataFrame({"id": [PA], "decision": ["fixed"], "reviewer": ["=HYPERLINK(\"x\")"],
                        "decided_at": [pd.Timestamp("2025-09-01T08:30:00Z")], "comment": ["-1 day"], "expires": [None]})
    table = append_decisions(path, new).table
    assert table["reviewer"].tolist() == ["ana", "=HYPERLINK(\"x\")"]  # read back without the guard
    assert table["comment"].tolist() == ["hand written", "-1 day"]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1] == f"{F1},Confirmed,ana,2025-08-01 10:00,hand written,"  # the earlier row as it was
    assert lines[2] == f"{PA},fixed,\"'=HYPERLINK(\"\"x\"\")\",2025-09-01T08:30:00Z,'-1 day,"


def test_nothing_is_appended_unless_every_new_row_is_valid(tmp_path):
    path = decisions_file(tmp_path, f"{F1},confirmed,ana,2025-08-01,,")
    before = path.read_bytes()
    bad = pd.DataFrame({"id": [F2, F3], "decision": ["fixed", "maybe"], "reviewer": ["bo", "bo"],
                        "decided_at": ["2025-09-01", "2025-09-01"], "comment": ["", ""]})
    with pytest.raises(InputError, match=r"\(new decisions\), row 2, column decision"):
        append_decisions(path, bad)
    assert path.read_bytes() == before

"""Findings over time (issue 14, items 4 and 6): patterns new, recurring or resolved against an earlier
report, the trend of open violations carried along a chain of reports, and --notify-command."""
from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from bs4 import BeautifulSoup
from click.testing import CliRunner

from auditlib import history, report
from auditlib.cli import main
from auditlib.findings import identify
from auditlib.io.names import safe_name

from conftest import one_customer_each

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
PARTNERS = ("P1", "P2", "P3")
UTC = lambda text: pd.Timestamp(text, tz="UTC")


# ----------------------------------------------------------------------------- the pure functions, by hand

def rows(*found: tuple) -> pd.DataFrame:
    """(message, sender, customer, topic, verdict, rule, sent_at[, review_decision]) rows, product azure."""
    frame = pd.DataFrame([f[:7] for f in found], columns=["message_id", "sender_address", "customer_id", "topic", "verdict",
                                                          "rule_id", "sent_at"])
    frame = frame.assign(recipient_address="ana@c.example", product="azure", sent_at=pd.to_datetime(frame["sent_at"], utc=True),
                         severity=frame["rule_id"].map({"CSP-COMM-2": "high", "CSP-COMM-1": "medium"}))
    if any(len(f) > 7 for f in found):
        frame["review_decision"] = [f[7] if len(f) > 7 else None for f in found]
    return pd.concat([frame, identify(frame)], axis=1)


def test_patterns_count_findings_and_open_violations_per_pattern():
    found = history.patterns(rows(
        ("m1", "billing@microsoft.com", "C1", "subscription", "violation", "CSP-COMM-2", "2025-05-03"),
        ("m2", "Billing@Microsoft.com", "C1", "subscription", "violation", "CSP-COMM-2", "2025-05-01", "false_positive"),
        ("m3", "billing@microsoft.com", "C2", "subscription", "violation", "CSP-COMM-2", "2025-05-09", "confirmed"),
        ("m4", "news@microsoft.com", "C1", "unknown", "needs_review", None, "2025-05-04"),
        ("m5", "team@p1.example", "C1", "subscription", "allowed", "CSP-COMM-1", "2025-05-04"),
    )).set_index("sender_address", append=True)
    # m1 and m2 are one pattern (the sender compares in lower case); m2 is settled, so one of its two is open
    assert len(found) == 3
    one = found.xs("billing@microsoft.com", level="sender_address").set_index("customer_id")
    assert one.loc["C1", ["findings", "open_violations"]].tolist() == [2, 1]
    assert one.loc["C1", "first_seen"] == UTC("2025-05-01") and one.loc["C1", "last_seen"] == UTC("2025-05-03")
    assert one.loc["C2", ["findings", "open_violations"]].tolist() == [1, 1]  # confirmed stays open
    review = found.xs("news@microsoft.com", level="sender_address").iloc[0]
    assert (review["findings"], review["open_violations"]) == (1, 0)


def test_states_new_recurring_resolved_new_first():
    before = history.patterns(rows(
        ("a", "billing@microsoft.com", "C1", "subscription", "violation", "CSP-COMM-2", "2025-04-02"),
        ("b", "billing@microsoft.com", "C2", "subscription", "violation", "CSP-COMM-2", "2025-04-05"),
        ("c", "billing@microsoft.com", "C2", "subscription", "violation", "CSP-COMM-2", "2025-04-06"),
    ))
    now = history.patterns(rows(
        ("d", "billing@microsoft.com", "C1", "subscription", "violation", "CSP-COMM-2", "2025-05-02"),
        ("e", "events@microsoft.com", "C1", "marketing", "violation", "CSP-COMM-1", "2025-05-03"),
        ("f", "events@microsoft.com", "C1", "marketing", "violation", "CSP-COMM-1", "2025-05-04"),
        ("g", "news@microsoft.com", "C3", "unknown", "needs_review", None, "2025-05-05"),
    ))
    table = history.states(now, before)
    assert table[["state", "sender_address", "customer_id", "findings", "findings_before"]].values.tolist() == [
        ["new", "events@microsoft.com", "C1", 2, 0],       # new, most findings first
        ["new", "news@microsoft.com", "C3", 1, 0],
        ["recurring", "billing@microsoft.com", "C1", 1, 1],
        ["resolved", "billing@microsoft.com", "C2", 0, 2],
    ]
    recurring = table.iloc[2]
    assert (recurring["first_seen"], recurring["last_seen"]) == (UTC("2025-04-02"), UTC("2025-05-02"))
    assert history.counts(table) == {"new": 2, "recurring": 1, "resolved": 1}
    assert history.counts(history.states(now.iloc[:0], now.iloc[:0])) == {"new": 0, "recurring": 0, "resolved": 0}


def test_trend_keeps_the_earlier_periods_that_end_before_this_one():
    known = [{"start": "2025-03-01", "end": "2025-04-01", "open_violations": 4},
             {"start": "2025-04-01", "end": "2025-05-01", "open_violations": 2}]
    assert history.trend(known, UTC("2025-05-01"), UTC("2025-06-01"), 7) == known + [
        {"start": "2025-05-01", "end": "2025-06-01", "open_violations": 7}]
    assert history.trend(known, UTC("2025-04-15"), UTC("2025-05-15"), 1)[:-1] == known[:1]


# ----------------------------------------------------------------------------- reports on a hand-made log

@pytest.fixture(scope="module")
def two_months(tmp_path_factory) -> dict:
    """One customer per partner. April: an invoice from Microsoft to P1's customer. May: the same
    sender's invoice to P1's customer again (recurring), an invoice to P2's (new, high) and an event
    invitation to P3's (new, but medium). Reports for April, then May with --previous April."""
    base = tmp_path_factory.mktemp("history")
    registry = one_customer_each(base / "registry", PARTNERS)
    log = base / "log.csv"
    log.write_text("message_id,sent_at,sender_address,recipient_address,subject\n"
                   "a1,2025-04-03T10:00:00Z,billing@microsoft.com,admin@cp1.example,Your invoice is ready\n"
                   "b1,2025-05-05T10:00:00Z,Billing@Microsoft.com,ops@cp1.example,Your invoice is ready\n"
                   "b2,2025-05-06T10:00:00Z,billing@microsoft.com,admin@cp2.example,Your invoice is ready\n"
                   "b3,2025-05-07T10:00:00Z,events@microsoft.com,admin@cp3.example,Register for Microsoft Ignite: exclusive offers for you\n")
    verdicts = base / "verdicts.csv"
    assert CliRunner().invoke(main, ["audit", str(log), "--registry", str(registry), "--output", str(verdicts)]).exit_code == 0
    script = base / "notify.sh"
    script.write_text('#!/bin/sh\ncat > "$(dirname "$0")/$NOTIFY_NAME.json"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    april = report.run_reports(base / "april", registry, verdicts, start="2025-04-01", end="2025-05-01",
                               notify_command=f"NOTIFY_NAME=april {script}")
    may = report.run_reports(base / "may", registry, verdicts, start="2025-05-01", end="2025-06-01", previous=base / "april",
                             notify_command=f"NOTIFY_NAME=may {script}")
    return {"base": base, "registry": registry, "verdicts": verdicts, "april": april, "may": may}


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def test_states_against_the_previous_report_are_in_the_manifest_index_and_pages(two_months):
    base = two_months["base"]
    partners = manifest(base / "may")["partners"]
    assert {p: [partners[p][s] for s in history.STATES] for p in PARTNERS} == {
        "P1": [0, 1, 0], "P2": [1, 0, 0], "P3": [1, 0, 0]}
    assert manifest(base / "may")["previous"]["period"] == "2025-04-01 to 2025-04-30"
    index = BeautifulSoup((base / "may" / "index.html").read_text(), "html.parser")
    row = index.find("tr", attrs={"data-partner-id": "P1"})
    cells = dict(zip([th.get_text(strip=True) for th in index.find("table", id="partners").thead.find_all("th")],
                     [td.get_text(strip=True) for td in row.find_all("td")]))
    assert [cells["new patterns"], cells["recurring"], cells["resolved"]] == ["0", "1", "0"]
    page = BeautifulSoup((base / "may" / "partners" / f"{safe_name('P2')}.html").read_text(), "html.parser")
    assert [page.find(id=f"h-{s}").get_text() for s in history.STATES] == ["1", "0", "0"]
    assert page.find("table", id="patterns").tbody.find("tr").find("td").get_text() == "new"


def test_without_previous_pages_say_so_and_the_manifest_holds_no_states(two_months):
    april = two_months["base"] / "april"
    assert all(manifest(april)["partners"][p]["new"] is None for p in PARTNERS)
    assert manifest(april)["previous"] is None
    page = BeautifulSoup((april / "partners" / f"{safe_name('P1')}.html").read_text(), "html.parser")
    assert "No previous report was given" in page.find(id="history-none").get_text()
    assert page.find("table", id="patterns") is None
    assert "new patterns" not in (april / "index.html").read_text()


def test_the_trend_of_open_violations_grows_along_a_chain_of_reports(two_months, tmp_path):
    base = two_months["base"]
    assert manifest(base / "may")["partners"]["P1"]["trend"] == [
        {"start": "2025-04-01", "end": "2025-05-01", "open_violations": 1},
        {"start": "2025-05-01", "end": "2025-06-01", "open_violations": 1}]
    june = report.run_reports(tmp_path / "june", two_months["registry"], two_months["verdicts"], start="2025-06-01",
                              end="2025-07-01", partners=["P1"], previous=base / "may")
    assert [p["open_violations"] for p in june.partners[0].trend] == [1, 1, 0]
    assert (june.partners[0].new, june.partners[0].recurring, june.partners[0].resolved) == (0, 0, 1)


def test_notify_gets_the_new_high_severity_findings_as_json(two_months):
    base = two_months["base"]
    april, may = (json.loads((base / f"{name}.json").read_text()) for name in ("april", "may"))
    # April, without --previous: every high finding is new
    assert [(f["partner_ids"], f["customer_id"], f["rule_id"], f["severity"]) for f in april["findings"]] == [
        ("P1", "CP1", "CSP-COMM-2", "high")]
    # May: P1's invoice recurs, P3's finding is medium; P2's invoice is the one new high-severity finding
    assert may["counts"] == {"findings": 1, "by_partner": {"P2": 1}, "by_rule": {"CSP-COMM-2": 1}}
    (finding,) = may["findings"]
    assert {k: finding[k] for k in ("partner_ids", "customer_id", "sender_address", "rule_id", "severity", "sent_at", "subject")} == {
        "partner_ids": "P2", "customer_id": "CP2", "sender_address": "billing@microsoft.com", "rule_id": "CSP-COMM-2",
        "severity": "high", "sent_at": "2025-05-06T10:00:00Z", "subject": None}  # the verdicts were audited without --evidence
    assert finding["finding_id"].startswith("F") and finding["pattern_id"].startswith("P")
    assert may["run"]["period"] == {"start": "2025-05-01", "end": "2025-06-01"}
    assert may["run"]["report_folder"] == str(base / "may") and may["run"]["previous"]["folder"] == str(base / "april")
    assert manifest(base / "may")["notify"] == {"findings": 1, "status": "ok", "error": ""}


def test_a_failing_notify_command_is_a_warning_and_the_run_still_succeeds(two_months, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["report", "--verdicts", str(two_months["verdicts"]), "--registry",
                                       str(two_months["registry"]), "--output", str(out), "--partner", "P1",
                                       "--notify-command", "cat >/dev/null; exit 3"])
    assert result.exit_code == 0, result.output
    assert "warning: the notify command exited with status 3" in result.stderr
    assert manifest(out)["notify"]["status"] == "failed"
    assert (out / "partners" / f"{safe_name('P1')}.html").is_file()


def test_a_previous_report_that_changed_or_overlaps_is_refused(two_months, tmp_path):
    base, registry, verdicts = two_months["base"], two_months["registry"], two_months["verdicts"]
    args = ["report", "--verdicts", str(verdicts), "--registry", str(registry), "--partner", "P1"]
    overlap = CliRunner().invoke(main, [*args, "--output", str(tmp_path / "a"), "--start", "2025-04-15", "--end", "2025-05-15",
                                        "--previous", str(base / "april")])
    assert overlap.exit_code == 2 and "does not end before this one" in overlap.stderr
    tampered = tmp_path / "april"
    shutil.copytree(base / "april", tampered)
    patterns = tampered / "partners" / f"{safe_name('P1')}.patterns.csv"
    patterns.write_text(patterns.read_text().replace("CP1", "CP9"))
    changed = CliRunner().invoke(main, [*args, "--output", str(tmp_path / "b"), "--start", "2025-05-01", "--end", "2025-06-01",
                                        "--previous", str(tampered)])
    assert changed.exit_code == 2 and f"{patterns}: missing or changed since its report was written" in changed.stderr


# ----------------------------------------------------------------------------- two months of the sample

@pytest.mark.skipif(not (SAMPLE / "registry").is_dir(), reason="data/sample not generated")
def test_states_from_two_months_of_the_sample_match_a_count_made_from_the_verdicts(tmp_path):
    """P1004 (an indirect provider: its resellers' customers count too), May then June 2025; the
    expected states are worked out here from the verdicts file with plain pandas."""
    verdicts = tmp_path / "verdicts.csv"
    assert CliRunner().invoke(main, ["audit", str(SAMPLE / "messages.csv"), "--registry", str(SAMPLE / "registry"),
                                     "--output", str(verdicts)]).exit_code == 0
    frame = pd.read_csv(verdicts, dtype=str, keep_default_na=False)
    partners = pd.read_csv(SAMPLE / "registry" / "partners.csv", dtype=str, keep_default_na=False)
    covered = {"P1004"} | set(partners.loc[partners["parent_partner_id"] == "P1004", "partner_id"])
    mine = frame[frame["partner_ids"].str.split(";").map(lambda ids: bool(covered & set(ids)))
                 & frame["verdict"].isin(["violation", "needs_review"])]
    key = lambda f: set(zip(f["sender_address"].str.lower(), f["customer_id"], f["topic"], f["product"], f["verdict"], f["rule_id"]))
    may, june = (key(mine[mine["sent_at"].str.startswith(month)]) for month in ("2025-05", "2025-06"))
    expected = {"new": len(june - may), "recurring": len(june & may), "resolved": len(may - june)}
    assert expected["new"] and expected["resolved"]  # the months differ enough for the test to mean something

    report.run_reports(tmp_path / "may", SAMPLE / "registry", verdicts, start="2025-05-01", end="2025-06-01", partners=["P1004"])
    june_run = report.run_reports(tmp_path / "june", SAMPLE / "registry", verdicts, start="2025-06-01", end="2025-07-01",
                                  partners=["P1004"], previous=tmp_path / "may")
    result = june_run.partners[0]
    assert {s: getattr(result, s) for s in history.STATES} == expected
    may_open = ((mine["sent_at"].str.startswith("2025-05")) & (mine["verdict"] == "violation")).sum()
    june_open = ((mine["sent_at"].str.startswith("2025-06")) & (mine["verdict"] == "violation")).sum()
    assert [p["open_violations"] for p in result.trend] == [may_open, june_open]

"""`auditlib report` end to end: papermill runs the notebooks on data/sample (and on a hostile
registry), and the figures in every output are checked against counts made here from the
verdicts file with the csv module."""
from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from auditlib import load_policy
from auditlib.report import safe_name

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"

pytestmark = pytest.mark.skipif(not (SAMPLE / "registry").is_dir(), reason="data/sample not generated")


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditlib", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def answers_for(registry: Path) -> dict[str, set[str]]:
    """Partner id -> the partners of record whose customers its report covers (itself, its resellers)."""
    partners = read_csv(registry / "partners.csv")
    return {p["partner_id"]: {p["partner_id"]} | {r["partner_id"] for r in partners if r["parent_partner_id"] == p["partner_id"]}
            for p in partners}


def rows_of(verdicts: list[dict], covered: set[str]) -> list[dict]:
    return [v for v in verdicts if set(v["partner_ids"].split(";")) & covered]


def table_rows(page: Path, table_id: str) -> int:
    table = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find("table", id=table_id)
    return 0 if table is None else len(table.tbody.find_all("tr"))


def span(page: Path, span_id: str) -> str:
    return BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find(id=span_id).get_text(strip=True)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The README's main command, on data/sample, with two jobs."""
    out = tmp_path_factory.mktemp("sample")
    audited = cli("audit", SAMPLE / "messages.csv", "--registry", SAMPLE / "registry", "--output", out / "verdicts.csv", "--evidence")
    assert audited.returncode == 0, audited.stderr
    ran = cli("report", "--verdicts", out / "verdicts.csv", "--registry", SAMPLE / "registry", "--output", out, "--jobs", "2")
    assert ran.returncode == 0, ran.stderr
    return out


def test_one_report_per_sample_partner_and_an_index(sample):
    partners = [p["partner_id"] for p in read_csv(SAMPLE / "registry" / "partners.csv")]
    manifest = json.loads((sample / "manifest.json").read_text())
    assert sorted(manifest["partners"]) == sorted(partners)
    for partner in partners:
        for suffix in (".html", ".ipynb", ".violations.csv"):
            assert (sample / "partners" / f"{safe_name(partner)}{suffix}").is_file()
        assert manifest["partners"][partner]["status"] == "ok"
        assert manifest["partners"][partner]["seconds"] > 0
    assert manifest["overview"]["status"] == "ok"
    index = BeautifulSoup((sample / "index.html").read_text(), "html.parser")
    links = {a["href"] for a in index.find_all("a")}
    assert {f"partners/{safe_name(p)}.html" for p in partners} | {"overview.html"} <= links
    for href in links:
        assert (sample / href).is_file()


def test_manifest_cites_the_inputs_by_sha256_and_the_policy_version(sample):
    manifest = json.loads((sample / "manifest.json").read_text())
    files = [sample / "verdicts.csv"] + [SAMPLE / "registry" / f for f in ("partners.csv", "customers.csv", "agreements.csv")]
    assert manifest["inputs"] == {str(f.resolve()): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    assert manifest["policy_version"] == load_policy().version
    footer = (sample / "partners" / f"{safe_name('P1001')}.html").read_text()
    assert all(digest in footer for digest in manifest["inputs"].values())
    assert load_policy().version in footer


def test_every_figure_matches_counts_made_from_the_verdicts(sample):
    verdicts = read_csv(sample / "verdicts.csv")
    manifest = json.loads((sample / "manifest.json").read_text())
    totals = Counter()
    for partner, covered in answers_for(SAMPLE / "registry").items():
        mine = rows_of(verdicts, covered)
        violations = [v for v in mine if v["verdict"] == "violation"]
        page = sample / "partners" / f"{safe_name(partner)}.html"
        assert table_rows(page, "violations") == len(violations)
        assert table_rows(page, "review") == sum(v["verdict"] == "needs_review" for v in mine)
        assert span(page, "h-violations") == f"{len(violations):,}"
        assert span(page, "h-messages") == f"{len(mine):,}"
        assert span(page, "h-affected") == f"{len({v['customer_id'] for v in violations})} of {len({v['customer_id'] for v in mine})}"
        assert len(read_csv(sample / "partners" / f"{safe_name(partner)}.violations.csv")) == len(violations)
        assert manifest["partners"][partner]["headline"]["violations"] == len(violations)
        totals[partner] = len(violations)
    assert sum(totals.values()) > 0, "the sample should hold violations"
    overview = sample / "overview.html"
    assert table_rows(overview, "ranking") == len(totals)


def test_reports_are_offline_and_keep_every_chart(sample):
    pages = [sample / "overview.html", *sorted((sample / "partners").glob("*.html"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        sources = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", text)
        base = "" if page.parent == sample else "../"
        assert sources == [base + "plotly.min.js", base + "datatables.js"], page
        assert re.findall(r"<link[^>]*\bhref=\"([^\"]*)\"", text) == [base + "datatables.css"], page
        assert "cdn.plot.ly" not in text and "cdnjs" not in text
        notebook = nbformat.read(page.with_suffix(".ipynb"), as_version=4)
        figures = sum("application/vnd.plotly.v1+json" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))
        assert text.count("Plotly.newPlot(") == figures, page
        assert "def " not in text and "import " not in text  # no code cells in the page
    assert (sample / "plotly.min.js").stat().st_size > 1_000_000
    assert any(text.count("Plotly.newPlot(") >= 5 for text in (p.read_text() for p in pages))


def test_a_partners_files_hold_nothing_about_other_customers(sample):
    verdicts = read_csv(sample / "verdicts.csv")
    customers = {c["customer_id"]: c["customer_name"] for c in read_csv(SAMPLE / "registry" / "customers.csv")}
    for partner, covered in answers_for(SAMPLE / "registry").items():
        mine = rows_of(verdicts, covered)
        own = {v["customer_id"] for v in mine}
        own_text = {customers[c] for c in own} | {v["recipient_address"] for v in mine} | own
        foreign = {v["customer_id"] for v in verdicts if v["customer_id"] and v["customer_id"] not in own}
        secrets = ({customers[c] for c in foreign if c in customers} | foreign
                   | {v["recipient_address"] for v in verdicts if v["customer_id"] in foreign}) - own_text
        assert secrets, partner
        for path in (sample / "partners").glob(f"{safe_name(partner)}.*"):
            text = path.read_text(encoding="utf-8")
            leaked = sorted(s for s in secrets if s in text)
            assert not leaked, f"{path.name} mentions {leaked[:3]}"


# ----------------------------------------------------------------------------- issue 12: numbers, order, empty periods

def figure_by_title(notebook: Path, title: str) -> dict:
    book = nbformat.read(notebook, as_version=4)
    figures = [o["data"]["application/vnd.plotly.v1+json"] for c in book.cells for o in c.get("outputs", [])
               if "application/vnd.plotly.v1+json" in o.get("data", {})]
    return next(f for f in figures if f["layout"]["title"]["text"].startswith(title))


def index_cells(index: BeautifulSoup, partner: str) -> dict[str, str]:
    """A partner's row of the index, by column heading."""
    headings = [th.get_text(" ", strip=True) for th in index.find("table", id="partners").thead.find_all("th")]
    cells = [td.get_text(" ", strip=True) for td in index.find("tr", attrs={"data-partner-id": partner}).find_all("td")]
    return dict(zip(headings, cells))


def rate_of(rows: list[dict]) -> str:
    in_scope = [v for v in rows if v["verdict"] != "out_of_scope"]
    return f"{1 - sum(v['verdict'] == 'violation' for v in in_scope) / len(in_scope):.1%}" if in_scope else "n/a"


def test_every_total_is_recounted_from_the_verdicts_once_per_message(sample):
    verdicts = read_csv(sample / "verdicts.csv")
    violations = [v for v in verdicts if v["verdict"] == "violation"]
    monthly = figure_by_title(sample / "overview.ipynb", "All partners: violations per month")
    assert sum(sum(trace["y"]) for trace in monthly["data"]) == len(violations)  # a reseller's row is not also its provider's
    head = BeautifulSoup((sample / "overview.html").read_text(encoding="utf-8"), "html.parser").get_text(" ", strip=True)
    assert f"{len(verdicts):,} messages audited" in head and f"{len(violations):,} of them violations" in head
    index = BeautifulSoup((sample / "index.html").read_text(encoding="utf-8"), "html.parser")
    for partner, covered in answers_for(SAMPLE / "registry").items():
        mine = rows_of(verdicts, covered)
        page = sample / "partners" / f"{safe_name(partner)}.html"
        cells = index_cells(index, partner)
        assert span(page, "h-rate") == cells["compliance rate"] == rate_of(mine), partner  # one rounding, from the exact value
        assert span(page, "h-change") == cells["change"] == "n/a (no data)"  # the sample has no earlier period
        assert cells["open violations"] == cells["violations"]  # nothing reviewed: every violation is open
        ranking = figure_by_title(sample / "overview.ipynb", "Partners ranked")["data"][0]
        assert f"{sum(v['verdict'] == 'violation' for v in mine)} · {rate_of(mine)}" in ranking["text"]


def test_partner_page_puts_what_to_act_on_and_every_violation_before_the_review_queue(sample):
    verdicts = read_csv(sample / "verdicts.csv")
    for partner, covered in answers_for(SAMPLE / "registry").items():
        page = sample / "partners" / f"{safe_name(partner)}.html"
        text = page.read_text(encoding="utf-8")
        order = [text.index(f'id="{anchor}"') for anchor in ("toc", "act", "violations", "review", "rules")]
        assert order == sorted(order), partner
        soup = BeautifulSoup(text, "html.parser")
        assert {a["href"] for a in soup.select("nav.auditlib-nav a")} == {"../index.html", "../overview.html"}
        assert all(soup.find(id=a["href"][1:]) for a in soup.select("#toc a"))
        found = [v for v in rows_of(verdicts, covered) if v["verdict"] == "violation"]
        acted = soup.find("table", id="act")
        assert sum(int(tr.find_all("td")[3].get_text()) for tr in acted.tbody.find_all("tr")) <= len(found)
        csv_rows = read_csv(sample / "partners" / f"{safe_name(partner)}.violations.csv")
        assert {r["message_id"] for r in csv_rows} == {v["message_id"] for v in found}
        assert {r["subject"] for r in csv_rows} == {v["subject"] for v in found}
        header = [th.get_text(strip=True) for th in soup.find("table", id="violations").thead.find_all("th")]
        assert header[:6] == ["message_id", "sent_at", "customer", "recipient_address", "sender_address", "subject"]


# ----------------------------------------------------------------------------- issue 14: review decisions

@pytest.fixture(scope="module")
def reviewed(sample, tmp_path_factory) -> tuple[Path, dict[str, str], dict[str, str]]:
    """The sample's report with decisions: three of P1003's violations dismissed as false positives, a
    fourth confirmed (still open), the largest needs_review pattern accepted (its rows leave the queue)."""
    verdicts = read_csv(sample / "verdicts.csv")
    p1003 = [v for v in rows_of(verdicts, {"P1003"}) if v["verdict"] == "violation"]
    queued = Counter(v["pattern_id"] for v in verdicts if v["verdict"] == "needs_review")
    findings = {v["finding_id"]: "false_positive" for v in p1003[:3]} | {p1003[3]["finding_id"]: "confirmed"}
    patterns = {queued.most_common(1)[0][0]: "accepted_risk"}
    out = tmp_path_factory.mktemp("reviewed")
    decisions = out.parent / f"{out.name}-decisions.csv"
    write_rows(decisions, "id,decision,reviewer,decided_at,comment",
               [(i, d, "ana", "2025-12-31T10:00:00Z", "<b>checked</b>") for i, d in (findings | patterns).items()])
    ran = cli("report", "--verdicts", sample / "verdicts.csv", "--registry", SAMPLE / "registry", "--output", out,
              "--decisions", decisions, "--jobs", "2")
    assert ran.returncode == 0, ran.stderr
    return out, findings, patterns


def test_pages_count_open_violations_beside_all_and_leave_settled_rows_out_of_the_queue(sample, reviewed):
    out, findings, patterns = reviewed
    verdicts = read_csv(sample / "verdicts.csv")
    dismissed = {f for f, d in findings.items() if d == "false_positive"}
    decided = set(findings) | set(patterns)
    manifest = json.loads((out / "manifest.json").read_text())
    index = BeautifulSoup((out / "index.html").read_text(encoding="utf-8"), "html.parser")
    for partner, covered in answers_for(SAMPLE / "registry").items():
        mine = rows_of(verdicts, covered)
        violations = [v for v in mine if v["verdict"] == "violation"]
        still_open = [v for v in violations if v["finding_id"] not in dismissed]
        waiting = [v for v in mine if v["verdict"] == "needs_review" and not {v["finding_id"], v["pattern_id"]} & decided]
        page = out / "partners" / f"{safe_name(partner)}.html"
        assert span(page, "h-violations") == f"{len(violations):,}", partner
        assert span(page, "h-open") == f"{len(still_open):,}", partner
        assert span(page, "h-review").startswith(f"{len(waiting):,}"), partner
        assert table_rows(page, "violations") == len(violations)  # every violation is still listed
        assert table_rows(page, "review") == len(waiting)
        cells = index_cells(index, partner)
        assert (cells["violations"], cells["open violations"], cells["awaiting review"]) == \
            (f"{len(violations):,}", f"{len(still_open):,}", f"{len(waiting):,}")
        headline = manifest["partners"][partner]["headline"]
        assert (headline["violations"], headline["open_violations"], headline["awaiting_review"]) == \
            (len(violations), len(still_open), len(waiting))
        exported = read_csv(out / "partners" / f"{safe_name(partner)}.violations.csv")
        assert {r["message_id"] for r in exported if r["review_decision"] == "false_positive"} == \
            {v["message_id"] for v in violations if v["finding_id"] in dismissed}
    p1003 = out / "partners" / f"{safe_name('P1003')}.html"
    assert int(span(p1003, "h-violations")) - int(span(p1003, "h-open")) == 3
    assert "&lt;b&gt;checked&lt;/b&gt;" in p1003.read_text(encoding="utf-8")  # a reviewer's comment is text
    total = sum(v["verdict"] == "violation" for v in verdicts)
    head = BeautifulSoup((out / "overview.html").read_text(encoding="utf-8"), "html.parser").get_text(" ", strip=True)
    assert f"{total:,} of them violations ({total - 3:,} open" in head


def test_a_period_without_messages_says_so_and_exits_zero_with_a_warning(sample, tmp_path):
    ran = cli("report", "--verdicts", sample / "verdicts.csv", "--registry", SAMPLE / "registry", "--output", tmp_path,
              "--start", "2027-01-01", "--end", "2027-02-01", "--partner", "P1004")
    assert ran.returncode == 0, ran.stderr
    assert "auditlib: warning: no messages in the period 2027-01-01 to 2027-01-31" in ran.stderr
    assert "KeyboardInterrupt" not in ran.stderr and "Traceback" not in ran.stderr
    assert "No messages in the period" in (tmp_path / "index.html").read_text(encoding="utf-8")
    page = tmp_path / "partners" / f"{safe_name('P1004')}.html"
    assert "No messages in the period 2027-01-01 to 2027-01-31" in span(page, "h-empty")
    assert span(page, "h-change") == "n/a (no data)"
    assert "No violations" not in page.read_text(encoding="utf-8")
    notebooks = [tmp_path / "overview.ipynb", page.with_suffix(".ipynb")]
    assert not any("Warning" in o.get("text", "") for nb in notebooks for c in nbformat.read(nb, as_version=4).cells
                   for o in c.get("outputs", []))


def test_rerun_skips_unchanged_partners_unless_forced(sample):
    page = sample / "partners" / f"{safe_name('P1001')}.html"
    before = page.stat().st_mtime_ns
    again = cli("report", "--verdicts", sample / "verdicts.csv", "--registry", SAMPLE / "registry", "--output", sample)
    assert again.returncode == 0, again.stderr
    manifest = json.loads((sample / "manifest.json").read_text())
    assert {p["status"] for p in manifest["partners"].values()} == {"skipped"}
    assert manifest["overview"]["status"] == "skipped"
    assert page.stat().st_mtime_ns == before
    forced = cli("report", "--verdicts", sample / "verdicts.csv", "--registry", SAMPLE / "registry", "--output", sample,
                 "--partner", "P1001", "--force")
    assert forced.returncode == 0, forced.stderr
    assert json.loads((sample / "manifest.json").read_text())["partners"]["P1001"]["status"] == "ok"
    assert page.stat().st_mtime_ns > before


# ----------------------------------------------------------------------------- hostile input, a failing report

HOSTILE_PARTNERS = [
    ("../evil", "Evil <script>alert('p')</script>", "direct_bill", "", "evil.example"),
    ("a/b", "=HYPERLINK(\"http://x\")", "direct_bill", "", "ab.example"),
    ("P-FAIL", '<a href="javascript:alert(4)">Fails</a> on <b>purpose</b>', "direct_bill", "", "fail.example"),
]
HOSTILE_CUSTOMERS = [
    ("C-EVIL", "<img src=x onerror=alert(1)>", "commercial", "cevil.example"),
    ("C-AB", "@SUM(1+1)", "usgov", "cab.example"),
    ("C-FAIL", "Failing Customer", "commercial", "cfail.example"),
]


# markup in every text column of a message: the sender and recipient show in charts' labels and tables
# (confirm(), not alert(): "alert" is an operational word to the classifier, and these must be violations)
HOSTILE_MESSAGES = [
    ("m-x1", "2025-02-03T10:00:00Z", "<script>confirm(5)</script>@microsoft.com", "<img/src=x/onerror=confirm(6)>@cevil.example",
     'Your invoice <a href="javascript:confirm(7)">pay</a> <b>now</b>', "<img src=x onerror=confirm(8)> javascript:confirm(9)"),
    ("m-x2", "2025-02-04T10:00:00Z", "<b>bold</b>@microsoft.com", "javascript:confirm(10)@cevil.example",
     "<script>confirm(11)</script> Your invoice is ready", '<a href="javascript:confirm(12)">x</a>'),
]
MASK_ENV = {"AUDITLIB_MASK_KEY": "test-key"}


def write_rows(path: Path, header: str, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header.split(","))
        writer.writerows(rows)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """Partner ids that are paths, names that are markup or formulas, and a notebook that fails for P-FAIL;
    audited from MESSAGES in the same command."""
    base = tmp_path_factory.mktemp("hostile")
    registry = base / "registry"
    registry.mkdir()
    write_rows(registry / "partners.csv", "partner_id,partner_name,partner_type,parent_partner_id,sender_domains", HOSTILE_PARTNERS)
    write_rows(registry / "customers.csv", "customer_id,customer_name,cloud,domains", HOSTILE_CUSTOMERS)
    write_rows(registry / "agreements.csv", "customer_id,channel,partner_id,products,start_date,end_date",
               [(c, "csp", p, "*", "2025-01-01", "") for (p, *_), (c, *_) in zip(HOSTILE_PARTNERS, HOSTILE_CUSTOMERS)])
    messages = [(f"m{i}-{c}", f"2025-0{1 + i % 3}-1{i % 9}T10:00:00Z", sender, f"admin@{domain}", subject, "")
                for i, ((c, _, _, domain), sender, subject) in enumerate(
                    (cust, sender, subject) for cust in HOSTILE_CUSTOMERS
                    for sender in ("=cmd@microsoft.com", "billing@microsoft.com")
                    for subject in ("Your invoice is ready", "-Register for Microsoft Ignite", "Service incident: outage"))]
    messages += HOSTILE_MESSAGES
    write_rows(base / "messages.csv", "message_id,sent_at,sender_address,recipient_address,subject,body", messages)
    notebooks = base / "notebooks"
    shutil.copytree(ROOT / "auditlib" / "notebooks", notebooks)
    book = nbformat.read(notebooks / "partner_report.ipynb", as_version=4)
    book.cells.insert(1, nbformat.v4.new_code_cell('assert partner_id != "P-FAIL", "deliberate failure"'))
    nbformat.write(book, notebooks / "partner_report.ipynb")
    out = base / "out"
    ran = cli("report", base / "messages.csv", "--registry", registry, "--output", out, "--notebooks", notebooks, "--jobs", "2")
    return out, ran


def figure_strings(value, key: str = "") -> list[tuple[str, str]]:
    """Every (key, string) in a plotly figure's JSON."""
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in figure_strings(v, k)]
    if isinstance(value, list):
        return [pair for v in value for pair in figure_strings(v, key)]
    return [(key, value)] if isinstance(value, str) else []


def test_markup_in_messages_and_names_is_text_in_pages_charts_and_notebooks(hostile):
    out, _ = hostile
    pages = [out / "index.html", out / "overview.html", *(out / "partners").glob("*.html")]
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        assert not soup.find("img") and not soup.find("b"), page
        assert not [a for a in soup.find_all("a") if a.get("href", "").strip().lower().startswith("javascript:")], page
        assert not [s for s in soup.find_all("script") if re.search(r"(alert|confirm)\(", s.get_text())
                    and "Plotly" not in s.get_text()], page
    evil = (out / "partners" / f"{safe_name('../evil')}.html").read_text()
    assert "&lt;img/src=x/onerror=confirm(6)&gt;@cevil.example" in evil  # the recipient, in the violations table
    notebooks = [out / "overview.ipynb", *(out / "partners").glob("*.ipynb")]
    labels = [(key, text) for path in notebooks for cell in nbformat.read(path, as_version=4).cells
              for output in cell.get("outputs", []) for key, text in figure_strings(output.get("data", {}).get(
                  "application/vnd.plotly.v1+json", {}))]
    assert any("&lt;script&gt;confirm(5)&lt;/script&gt;@microsoft.com" == text for _, text in labels)  # the sender chart
    assert any("javascript:alert(4)" in text for _, text in labels)  # P-FAIL's name, in the overview's ranking
    for key, text in labels:
        markup = re.sub(r"<br>|<extra></extra>", "", text) if key == "hovertemplate" else text
        assert "<" not in markup and ">" not in markup, (key, text)


def test_masked_reports_name_no_mailbox(hostile, tmp_path):
    base = hostile[0].parent
    out = tmp_path / "masked"
    refused = cli("report", base / "messages.csv", "--registry", base / "registry", "--output", out, "--mask-recipients",
                  env={"AUDITLIB_MASK_KEY": ""})
    assert refused.returncode == 2 and "AUDITLIB_MASK_KEY" in refused.stderr and "Traceback" not in refused.stderr
    ran = cli("report", base / "messages.csv", "--registry", base / "registry", "--output", out, "--mask-recipients",
              "--partner", "../evil", env=MASK_ENV)
    assert ran.returncode == 0, ran.stderr
    rows = read_csv_rows(base / "messages.csv")
    secrets = {r[3] for r in rows} | {"onerror=confirm(6)", "confirm(10)"}  # every recipient; the hostile ones' mailbox names
    for path in out.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".ipynb", ".csv", ".json", ".parquet"):
            data = path.read_bytes()
            leaked = [s for s in secrets if s.encode() in data or html.escape(s).encode() in data]
            assert not leaked, (path.name, leaked)
    found = read_csv(out / "partners" / f"{safe_name('../evil')}.violations.csv")
    assert found and all(re.fullmatch(r"[0-9a-f]{12}@cevil\.example", r["recipient_address"]) for r in found)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["recipients_masked"] is True
    assert manifest["accounting"]["rows_read"] == len(rows) == 20 and manifest["accounting"]["balanced"]


def read_csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))[1:]


def test_one_failing_report_does_not_stop_the_others(hostile):
    out, ran = hostile
    assert ran.returncode == 1
    assert "P-FAIL" in ran.stderr and "deliberate failure" in ran.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert {p: m["status"] for p, m in manifest["partners"].items()} == {"../evil": "ok", "a/b": "ok", "P-FAIL": "failed"}
    assert "deliberate failure" in (out / "partners" / f"{safe_name('P-FAIL')}.ipynb").read_text()
    row = BeautifulSoup((out / "index.html").read_text(), "html.parser").find("tr", attrs={"data-partner-id": "P-FAIL"})
    assert row["data-status"] == "failed" and "deliberate failure" in row.get_text()


def test_partner_ids_become_safe_file_names(hostile):
    out, _ = hostile
    names = sorted(p.name for p in (out / "partners").iterdir())
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+\.(html|ipynb|violations\.csv|patterns\.csv)", n) for n in names), names
    assert {n.split(".")[0] for n in names} == {safe_name(p) for p, *_ in HOSTILE_PARTNERS}
    assert safe_name("../evil") != safe_name("_evil") and safe_name("a/b") != safe_name("a_b")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [".auditlib.lock", "index.html", "manifest.json", "overview.html", "overview.ipynb", "partners", "plotly.min.js",
         "datatables.js", "datatables.css", "verdicts.parquet"])


def test_untrusted_text_is_escaped_and_csv_formulas_neutralised(hostile):
    out, _ = hostile
    for page in [out / "index.html", out / "overview.html", *(out / "partners").glob("*.html")]:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        assert not soup.find("img"), page
        assert not [s for s in soup.find_all("script") if "alert(" in s.get_text() and "Plotly" not in s.get_text()], page
    evil = (out / "partners" / f"{safe_name('../evil')}.html").read_text()
    assert "<td>&lt;img src=x onerror=alert(1)&gt; (C-EVIL)</td>" in evil  # a table cell
    assert '"y":["&lt;img src=x onerror=alert(1)&gt; (C-EVIL)"]' in evil  # the heatmap's label, for plotly's HTML subset
    for path in (out / "partners").glob("*.violations.csv"):
        for row in read_csv(path):
            assert not [v for v in row.values() if v[:1] in ("=", "+", "-", "@")], (path, row)
    ab = read_csv(out / "partners" / f"{safe_name('a/b')}.violations.csv")
    assert ab and all(r["customer"].startswith("'@SUM(1+1) (") for r in ab)
    assert {r["sender_address"] for r in ab} >= {"'=cmd@microsoft.com"}

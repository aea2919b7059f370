"""Per-partner summaries and chart helpers, on a small hand-made registry (no kernels here).

Expected figures are counted straight from the verdict frame in each test, never taken
from the function under test.
"""
from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import pytest

import auditlib
from auditlib import charts, summarise
from auditlib.errors import InputError
from auditlib.io import load_verdicts

PARTNERS = pd.DataFrame({
    "partner_id": ["PROV", "RES", "DIRECT"],
    "partner_name": ["Provider", "Reseller", "Direct <b>bold</b>"],
    "partner_type": ["indirect_provider", "indirect_reseller", "direct_bill"],
    "parent_partner_id": [None, "PROV", None],
    "sender_domains": ["prov.example", "res.example", "direct.example"],
})
CUSTOMERS = pd.DataFrame({
    "customer_id": ["C-PROV", "C-RES", "C-DIRECT", "C-GOV"],
    "customer_name": ["Prov Customer", "Res Customer", "<script>alert(1)</script>", "Gov Agency"],
    "cloud": ["commercial", "commercial", "commercial", "usgov"],
    "domains": ["cprov.example", "cres.example", "cdirect.example", "cgov.example"],
})
AGREEMENTS = pd.DataFrame({
    "customer_id": ["C-PROV", "C-RES", "C-DIRECT", "C-GOV", "C-GOV"],
    "channel": ["csp", "csp", "csp", "csp", "ea"],
    "partner_id": ["PROV", "RES", "DIRECT", "DIRECT", None],
    "products": ["*", "*", "*", "microsoft-365", "azure"],
    "start_date": ["2025-01-01"] * 4 + ["2024-01-01"],
    "end_date": [None] * 5,
})
SUBJECTS = ["Your invoice is ready", "Register for Microsoft Ignite", "Service incident: users may be unable to sign in",
            "Hello", "Your subscription will expire"]
RECIPIENTS = ["a@cprov.example", "b@cres.example", "c@cdirect.example", "d@cgov.example"]


@pytest.fixture(scope="module")
def registry() -> auditlib.Registry:
    return auditlib.Registry.from_frames(PARTNERS, CUSTOMERS, AGREEMENTS)


@pytest.fixture(scope="module")
def verdicts(registry) -> pd.DataFrame:
    """Every subject to every customer, from Microsoft and from a partner, over three months."""
    days = pd.date_range("2025-01-05", "2025-03-28", freq="9D", tz="UTC")
    grid = pd.MultiIndex.from_product(
        [days, SUBJECTS, RECIPIENTS, ["billing@microsoft.com", "news@res.example"], ["", "azure", "microsoft-365"]],
        names=["sent_at", "subject", "recipient_address", "sender_address", "product"],
    ).to_frame(index=False)
    grid["message_id"] = [f"m{i}" for i in range(len(grid))]
    grid["sent_at"] = grid["sent_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    grid["product"] = grid["product"].replace("", None)
    return auditlib.audit(grid, registry, evidence=True)


def owners(verdicts: pd.DataFrame, partner_ids: set[str]) -> pd.Series:
    """Rows whose partners of record meet ``partner_ids`` (counted here with plain Python sets)."""
    return verdicts["partner_ids"].map(lambda ids: bool(set(str(ids).split(";")) & partner_ids) if pd.notna(ids) else False)


def test_fixture_has_every_verdict_kind(verdicts):
    assert {"violation", "needs_review", "allowed"} <= set(verdicts["verdict"].astype(str))


@pytest.mark.parametrize("partner, answers_for, customers", [
    ("PROV", {"PROV", "RES"}, {"C-PROV", "C-RES"}),
    ("RES", {"RES"}, {"C-RES"}),
    ("DIRECT", {"DIRECT"}, {"C-DIRECT", "C-GOV"}),
])
def test_partner_rows_follow_partners_of_record_and_resellers(verdicts, registry, partner, answers_for, customers):
    rows = summarise.partner_rows(verdicts, registry, partner)
    assert len(rows) == int(owners(verdicts, answers_for).sum())
    assert set(rows["customer_id"]) == customers


def test_unknown_partner_is_an_input_error(verdicts, registry):
    with pytest.raises(InputError, match="unknown partner"):
        summarise.partner_rows(verdicts, registry, "NOPE")


def test_headline_against_direct_counts(verdicts, registry):
    rows = summarise.partner_rows(verdicts, registry, "PROV")
    period = summarise.Period.of("2025-02-01", "2025-03-01", verdicts["sent_at"])
    figures = summarise.headline(rows, period)

    mine = verdicts[owners(verdicts, {"PROV", "RES"})]
    feb = mine[(mine["sent_at"] >= "2025-02-01") & (mine["sent_at"] < "2025-03-01")]
    jan = mine[(mine["sent_at"] >= "2025-01-04") & (mine["sent_at"] < "2025-02-01")]  # 28 days before February
    n_violations = int((feb["verdict"] == "violation").sum())
    in_scope = int((feb["verdict"] != "out_of_scope").sum())
    assert figures["messages"] == len(feb)
    assert figures["violations"] == n_violations > 0
    assert figures["needs_review"] == int((feb["verdict"] == "needs_review").sum())
    assert figures["compliance_rate"] == pytest.approx(1 - n_violations / in_scope)
    assert figures["customers_affected"] == feb.loc[feb["verdict"] == "violation", "customer_id"].nunique()
    assert figures["previous_violations"] == int((jan["verdict"] == "violation").sum())
    assert figures["change"] == n_violations - figures["previous_violations"]


def test_period_defaults_errors_and_previous(verdicts):
    period = summarise.Period.of("", "", verdicts["sent_at"])
    assert period.start == pd.Timestamp("2025-01-05", tz="UTC")
    assert period.end == pd.Timestamp("2025-03-28", tz="UTC")  # the day after the last message (2025-03-27)
    assert period.previous().end == period.start
    assert period.previous().end - period.previous().start == period.end - period.start
    with pytest.raises(InputError, match="not a date"):
        summarise.Period.of("2025-13-01", "", verdicts["sent_at"])
    with pytest.raises(InputError, match="not after"):
        summarise.Period.of("2025-03-01", "2025-02-01", verdicts["sent_at"])


def test_over_time_counts_every_violation_in_weekly_buckets(verdicts, registry):
    rows = summarise.violations(summarise.partner_rows(verdicts, registry, "DIRECT"))
    period = summarise.Period.of("2025-01-01", "2025-03-01", verdicts["sent_at"])
    table = summarise.over_time(rows[period.mask(rows["sent_at"])], period)
    in_period = rows[(rows["sent_at"] >= "2025-01-01") & (rows["sent_at"] < "2025-03-01")]
    assert period.freq() == summarise.WEEK
    assert int(table.to_numpy().sum()) == len(in_period)
    assert table.sum().to_dict() == in_period["rule_id"].value_counts().to_dict()
    assert len(table) == 9  # the weeks starting 2024-12-30 ... 2025-02-24
    assert (table.sum(axis=1) == 0).any()  # empty weeks stay as zeros


def test_exception_use_counts_both_exceptions_even_unused(verdicts, registry):
    rows = summarise.partner_rows(verdicts, registry, "DIRECT")
    used = summarise.exception_use(rows)
    assert list(used.index) == ["CSP-COMM-3", "CSP-COMM-4"]
    for rule in used.index:
        assert used[rule] == int(((rows["verdict"] == "allowed") & (rows["rule_id"] == rule)).sum())
    assert used["CSP-COMM-3"] > 0 and used["CSP-COMM-4"] > 0  # C-GOV holds azure directly


def test_findings_name_the_message_customer_and_rule_and_keep_the_reason_short(verdicts, registry):
    policy = auditlib.load_policy()
    rows = summarise.violations(summarise.partner_rows(verdicts, registry, "DIRECT"))
    table = summarise.findings(rows, registry.customers, policy)
    assert list(table.columns) == list(summarise.FINDING_COLUMNS)
    assert len(table) == len(rows) and set(table["message_id"]) == set(rows["message_id"])
    assert table["sent_at"].is_monotonic_increasing
    assert set(table["rule"]) <= {"CSP-COMM-1 (general rule)", "CSP-COMM-2 (prohibition)"}
    assert {c.split(" (")[0] for c in table["customer"]} == {"<script>alert(1)</script>", "Gov Agency"}
    assert not any(text in reason for reason in table["reason"] for text in policy.clauses.values())
    assert not table["reason"].str.contains('"', regex=False).any()  # evidence has its own column
    assert table["evidence"].notna().all()


def test_to_act_on_adds_up_to_the_violations(verdicts, registry):
    policy = auditlib.load_policy()
    rows = summarise.violations(verdicts)
    table = summarise.to_act_on(rows, registry.customers, policy, top=len(rows))
    assert table["violations"].sum() == len(rows)
    assert table["violations"].is_monotonic_decreasing


def test_partner_table_and_breakdowns_add_up(verdicts, registry):
    period = summarise.Period.of("", "", verdicts["sent_at"])
    table = summarise.partner_table(verdicts, registry, period).set_index("partner_id")
    for partner, answers_for in {"PROV": {"PROV", "RES"}, "RES": {"RES"}, "DIRECT": {"DIRECT"}}.items():
        mine = verdicts[owners(verdicts, answers_for)]
        assert table.loc[partner, "violations"] == int((mine["verdict"] == "violation").sum())
    assert list(table["rank"]) == [1, 2, 3]
    assert table["violations"].is_monotonic_decreasing
    for by in ("month", "rule_id", "cloud"):
        breakdown = summarise.partner_breakdown(verdicts, registry, period, by)
        assert breakdown.sum(axis=1).to_dict() == table["violations"].to_dict()
    cloud = summarise.partner_breakdown(verdicts, registry, period, "cloud")
    gov = verdicts[(verdicts["customer_id"] == "C-GOV") & (verdicts["verdict"] == "violation")]
    assert cloud.loc["DIRECT", "usgov"] == len(gov) > 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_load_verdicts_round_trips_the_writer(verdicts, tmp_path, suffix):
    path = tmp_path / f"verdicts{suffix}"
    auditlib.write_table(verdicts, path)
    loaded = load_verdicts(path)
    assert len(loaded) == len(verdicts)
    assert (loaded["sent_at"] == verdicts["sent_at"]).all()
    assert loaded["verdict"].astype(str).tolist() == verdicts["verdict"].astype(str).tolist()
    assert loaded["partner_ids"].isna().sum() == verdicts["partner_ids"].isna().sum()


def test_load_verdicts_rejects_other_files(tmp_path):
    (tmp_path / "m.csv").write_text("message_id,sent_at\nm1,2025-01-01\n")
    with pytest.raises(InputError, match="not a verdicts file"):
        load_verdicts(tmp_path / "m.csv")
    with pytest.raises(InputError, match="not found"):
        load_verdicts(tmp_path / "none.parquet")


HOSTILE = '<a href="javascript:alert(1)">x</a><img src=x onerror=alert(2)>'


def all_figures(verdicts, registry) -> list[dict]:
    period = summarise.Period.of("", "", verdicts["sent_at"])
    found = summarise.violations(verdicts)
    counts = pd.Series([3, 1], index=[HOSTILE, "plain"])
    table = summarise.partner_table(verdicts, registry, period)
    return [
        charts.stacked_bars(summarise.over_time(found, period), "t", "month"),
        charts.stacked_bars(pd.DataFrame({HOSTILE: [1, 2]}, index=[HOSTILE, "b"]), "t", "partner", horizontal=True),
        charts.bars(counts, "t", "sender"),
        charts.heatmap(summarise.customer_months(found, registry.customers, period), "t", "month", "customer"),
        charts.ranking(table.assign(partner_name=HOSTILE)),
    ]


def test_figures_are_valid_plotly_and_escape_data_labels(verdicts, registry):
    for fig in all_figures(verdicts, registry):
        go.Figure(fig)  # validates every property; raises on a mistake
        text = json.dumps(fig)
        assert "<a " not in text and "<img" not in text and "<script" not in text
    heat = all_figures(verdicts, registry)[3]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (C-DIRECT)" in heat["data"][0]["y"]


def test_a_period_of_one_month_is_one_labelled_bar_not_a_millisecond_axis():
    fig = charts.stacked_bars(pd.DataFrame({"violations": [22]}, index=pd.DatetimeIndex(["2025-12-01"], tz="UTC")), "t", "month")
    assert fig["layout"]["xaxis"]["type"] == "category" and fig["data"][0]["x"] == ["2025-12"]
    days = charts.stacked_bars(pd.DataFrame({"v": [1, 2]}, index=pd.DatetimeIndex(["2025-12-01", "2025-12-02"])), "t", "day")
    assert days["data"][0]["x"] == ["2025-12-01", "2025-12-02"]


def test_figure_bundle_has_json_for_jupyterlab_and_html_without_plotlyjs(verdicts, registry):
    bundle = charts.figure_bundle(all_figures(verdicts, registry)[2])
    assert bundle[charts.PLOTLY_MIME]["data"][0]["type"] == "bar"
    assert "Plotly.newPlot" in bundle["text/html"]
    assert "<script src" not in bundle["text/html"] and "cdn.plot.ly" not in bundle["text/html"]


def test_tables_escape_every_cell_and_keep_every_row():
    frame = pd.DataFrame({"name": [HOSTILE] * 75, "n": range(75)})
    text = charts.table_html(frame, "t")
    assert "<img" not in text and "&lt;img" in text
    assert text.count("<tr") == 76  # header + every row: no "..." truncation at 60 rows

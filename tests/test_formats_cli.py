"""Every export format audits end to end from the command line: rows in = verdicts + rejected."""
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from auditlib.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "formats"
REGISTRY = FIXTURES / "registry"
PC = FIXTURES / "partner_center"


def audit(tmp_path, *inputs, options=()):
    out = tmp_path / "verdicts.csv"
    result = CliRunner().invoke(main, ["audit", *map(str, inputs), "--registry", str(REGISTRY), "--output", str(out), *options])
    return result, out


# (input, rows in, rejected) counted by hand from each fixture
CASES = [
    ("exchange/message_trace.csv", 7, 3),
    ("exchange/historical_search_utf16.csv", 4, 1),
    ("exchange/historical_extended.csv", 3, 0),
    ("exchange/historical_origin_timestamp.csv", 1, 0),
    ("exchange/graph_message_trace.json", 3, 1),
    ("graph/message_center_page.json", 3, 0),
    ("graph/MC900004.json", 1, 0),
    ("graph/service_health.json", 3, 0),
    ("graph/message_center_bad.json", 4, 3),
    ("email/multi_recipient.eml", 3, 0),
    ("email/mixed.mbox", 3, 2),
    ("email", 13, 7),
]


@pytest.mark.parametrize("relative, rows_in, rejected", CASES)
def test_each_format_audits_end_to_end(tmp_path, relative, rows_in, rejected):
    result, out = audit(tmp_path, FIXTURES / relative, options=["--customer-id", "c-contoso"])
    assert result.exit_code == 0, result.output
    verdicts = pd.read_csv(out)
    assert len(verdicts) == rows_in - rejected
    assert f"{rows_in} rows read, {rows_in - rejected} verdicts" in result.output
    assert f"{rejected} rejected" in result.output
    assert (out.with_name("verdicts.csv.rejected.csv").exists()) == (rejected > 0)


def test_all_formats_mixed_in_one_run(tmp_path):
    result, out = audit(tmp_path, *(FIXTURES / relative for relative, _, _ in CASES if relative.startswith(("exchange", "graph"))),
                        FIXTURES / "email", options=["--customer-id", "c-contoso"])
    assert result.exit_code == 0, result.output
    rows_in = sum(n for relative, n, _ in CASES if not relative.startswith("email/"))
    rejected = sum(r for relative, _, r in CASES if not relative.startswith("email/"))
    assert f"{rows_in} rows read, {rows_in - rejected} verdicts" in result.output
    v = pd.read_csv(out).set_index(["message_id", "recipient_address"])
    # a partner of record writing to its customer (trace CSV)
    assert v.loc[("<news-7@partnerone.com>", "alice@contoso.com"), ["verdict", "rule_id"]].tolist() == ["allowed", "CSP-COMM-1"]
    # a Message center post to the customer given by --customer-id: operational by its source
    post = v.loc[("MC900002", "tenant-admins@c-contoso.tenant.invalid")]
    assert post[["customer_id", "sender_party", "topic", "verdict", "rule_id"]].tolist() == [
        "c-contoso", "microsoft", "operational", "allowed", "CSP-COMM-3"]
    # Microsoft writing to a CSP customer about its invoice (e-mail file)
    assert v.loc[("<multi-1@microsoft.com>", "bob@contoso.com"), ["topic", "verdict", "rule_id"]].tolist() == [
        "subscription", "violation", "CSP-COMM-2"]


def test_a_tenant_feed_without_customer_id_exits_2_naming_the_file(tmp_path):
    result, _ = audit(tmp_path, FIXTURES / "graph" / "service_health.json")
    assert result.exit_code == 2
    assert "service_health.json: service_health posts address a tenant" in result.output


def test_registry_from_partner_center_then_audit(tmp_path):
    reg = tmp_path / "reg"
    result = CliRunner().invoke(main, [
        "registry", "from-partner-center", str(reg),
        "--customers", str(PC / "customers.json"),
        "--subscriptions", str(PC / "subscriptions_contoso.json"), "--subscriptions", str(PC / "subscriptions_fabrikam.json"),
        "--partner-id", "1234567", "--partner-type", "indirect_provider", "--sender-domains", "partnerone.com",
    ])
    assert result.exit_code == 0, result.output
    assert "2 partners, 3 customers, 3 agreements, 2 subscriptions skipped" in result.output
    assert "skipped subscription sub-e" in result.output
    out = tmp_path / "v.csv"
    result = CliRunner().invoke(main, [
        "audit", str(FIXTURES / "graph" / "MC900004.json"), "--customer-id", "11111111-1111-4111-8111-111111111111",
        "--registry", str(reg), "--output", str(out)])
    assert result.exit_code == 0, result.output
    v = pd.read_csv(out, dtype=str)
    assert v[["partner_ids", "verdict", "rule_id"]].values.tolist() == [["1234567", "allowed", "CSP-COMM-3"]]


def test_registry_builder_refuses_to_overwrite_without_force(tmp_path):
    args = ["registry", "from-partner-center", str(tmp_path), "--customers", str(PC / "customers.json"),
            "--subscriptions", str(PC / "subscriptions_contoso.json"), "--partner-id", "1", "--partner-type", "direct_bill"]
    assert CliRunner().invoke(main, args).exit_code == 0
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "already exists" in again.output
    assert CliRunner().invoke(main, [*args, "--force"]).exit_code == 0

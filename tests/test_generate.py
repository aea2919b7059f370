"""The synthetic data generator: deterministic, SPEC-shaped, covering every case, chunked."""
from __future__ import annotations

import filecmp
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

import auditlib.generate as generate_module
from auditlib import audit_files
from auditlib.cli import main
from auditlib.generate import generate_dataset

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SAMPLE_FILES = ("messages.csv", "registry/partners.csv", "registry/customers.csv", "registry/agreements.csv")

# Column lists as SPEC §2.1, §2.2 and §5 state them.
MESSAGE_HEADER = ["message_id", "sent_at", "sender_address", "recipient_address", "subject", "body",
                  "customer_id", "source", "category", "product", "language", "sender_authenticated"]  # SPEC §2.1
PARTNER_HEADER = ["partner_id", "partner_name", "partner_type", "parent_partner_id", "sender_domains"]
CUSTOMER_HEADER = ["customer_id", "customer_name", "cloud", "domains"]
AGREEMENT_HEADER = ["customer_id", "channel", "partner_id", "products", "start_date", "end_date"]
FAMILIES = {"microsoft-365", "azure", "dynamics-365", "power-platform", "windows", "security"}
GRAPH_CATEGORIES = {"planForChange", "preventOrFixIssue", "stayInformed", "incident", "advisory"}
MICROSOFT = ("microsoft.com", "microsoftonline.com", "microsoft365.com", "office.com", "office365.com",
             "azure.com", "dynamics.com", "microsoft.us")


def read_text_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def under(domains: pd.Series, parents) -> pd.Series:
    """Whether each domain is one of ``parents`` or a subdomain of one (SPEC §2.2)."""
    return pd.concat([(domains == p) | domains.str.endswith("." + p) for p in parents], axis=1).any(axis=1)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    """The documented sample command, run through the CLI into a fresh folder."""
    out = tmp_path_factory.mktemp("sample")
    result = CliRunner().invoke(main, ["generate", str(out), "--messages", "3000", "--seed", "7"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def tables(sample):
    registry = sample / "registry"
    return {
        "messages": read_text_csv(sample / "messages.csv"),
        "partners": read_text_csv(registry / "partners.csv"),
        "customers": read_text_csv(registry / "customers.csv"),
        "agreements": read_text_csv(registry / "agreements.csv"),
    }


@pytest.fixture(scope="module")
def verdicts(sample) -> pd.DataFrame:
    return audit_files([sample / "messages.csv"], sample / "registry")


def test_committed_sample_is_what_the_documented_command_writes(sample):
    for name in SAMPLE_FILES:
        assert (SAMPLE / name).is_file(), f"data/sample/{name} is missing"
        assert filecmp.cmp(sample / name, SAMPLE / name, shallow=False), f"data/sample/{name} differs"
    assert (SAMPLE / "messages.csv").stat().st_size < 2_000_000


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    first = generate_dataset(tmp_path / "a", n_messages=500, seed=11)
    again = generate_dataset(tmp_path / "b", n_messages=500, seed=11)
    other = generate_dataset(tmp_path / "c", n_messages=500, seed=12)
    for name in SAMPLE_FILES:
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    assert (tmp_path / "a/registry/agreements.csv").read_bytes() != (tmp_path / "c/registry/agreements.csv").read_bytes()


def test_files_have_exactly_the_spec_columns(tables):
    assert list(tables["messages"].columns) == MESSAGE_HEADER
    assert list(tables["partners"].columns) == PARTNER_HEADER
    assert list(tables["customers"].columns) == CUSTOMER_HEADER
    assert list(tables["agreements"].columns) == AGREEMENT_HEADER


def test_audit_gives_one_verdict_per_row_in_order(tables, verdicts):
    messages = tables["messages"]
    assert len(messages) == 3000 and len(verdicts) == 3000
    assert verdicts["message_id"].astype(str).tolist() == messages["message_id"].tolist()
    assert verdicts["recipient_address"].astype(str).tolist() == messages["recipient_address"].tolist()
    assert not messages.duplicated(["message_id", "recipient_address"]).any()
    assert messages["message_id"].duplicated().any(), "no message has several recipients"


def test_partners_of_every_type_and_resellers_under_providers(tables):
    partners = tables["partners"]
    assert set(partners["partner_type"]) == {"direct_bill", "indirect_provider", "indirect_reseller"}
    assert (partners["partner_type"].value_counts() >= 2).all()
    providers = set(partners.loc[partners["partner_type"] == "indirect_provider", "partner_id"])
    parents = partners.loc[partners["parent_partner_id"] != "", ["partner_type", "parent_partner_id"]]
    assert len(parents) and (parents["partner_type"] == "indirect_reseller").all()
    assert set(parents["parent_partner_id"]) <= providers


def test_customers_in_both_clouds_some_with_several_domains(tables):
    customers = tables["customers"]
    assert set(customers["cloud"]) == {"commercial", "usgov"}
    assert (customers["domains"].str.count(";") >= 1).any()
    assert customers["customer_id"].is_unique


def test_agreement_histories_cover_the_cases(tables):
    agreements, customers = tables["agreements"], tables["customers"]
    csp, direct = agreements[agreements["channel"] == "csp"], agreements[agreements["channel"] != "csp"]
    assert set(direct["channel"]) <= {"ea", "mca", "mosp", "open", "advisor"} and len(set(direct["channel"])) >= 3
    assert (csp["partner_id"] != "").all() and (direct["partner_id"] == "").all()
    assert (agreements["products"] == "*").any()
    assert agreements.loc[agreements["products"] != "*", "products"].str.split(";").explode().isin(FAMILIES).all()
    # Direct → CSP, and a partner change: one agreement ends the day the next (csp) one starts.
    handover = agreements.merge(csp, left_on=["customer_id", "end_date"], right_on=["customer_id", "start_date"])
    assert (handover["channel_x"] != "csp").any()
    assert ((handover["channel_x"] == "csp") & (handover["partner_id_x"] != handover["partner_id_y"])).any()
    # Dual relationships: an open csp agreement and an open direct one for the same customer.
    both = set(csp.loc[csp["end_date"] == "", "customer_id"]) & set(direct.loc[direct["end_date"] == "", "customer_id"])
    assert both
    assert not set(customers["customer_id"]) <= set(csp["customer_id"]), "every customer has a csp agreement"


def test_senders_recipients_and_times_vary_as_real_logs_do(tables):
    messages, customers, partners = tables["messages"], tables["customers"], tables["partners"]
    sender = messages["sender_address"].str.split("@").str[1]
    recipient = messages["recipient_address"].str.split("@").str[1]
    microsoft = under(sender, MICROSOFT)
    assert microsoft.mean() > 0.3
    assert (sender == "microsoft.us").any() and sender.str.endswith(".microsoft.com").any()
    assert sender.isin(["microsoft.com.evil.example", "notmicrosoft.com"]).any()
    partner_domains = partners["sender_domains"].str.split(";").explode()
    assert (under(sender, partner_domains) & ~sender.isin(partner_domains)).any(), "no partner subdomain sender"
    assert (~microsoft & ~under(sender, partner_domains)).mean() > 0.05, "no unrelated senders"
    customer_domains = customers["domains"].str.split(";").explode()
    assert (~under(recipient, customer_domains)).any(), "no recipient at an unknown domain"
    assert (under(recipient, customer_domains) & ~recipient.isin(customer_domains)).any(), "no recipient subdomain"
    suffix = messages["sent_at"].str[19:]
    assert set(suffix) == {"Z", "+08:00", "-05:00", ""}
    utc = pd.to_datetime(messages["sent_at"], utc=True, format="ISO8601")
    assert utc.min() >= pd.Timestamp("2023-12-31", tz="UTC") and utc.max() < pd.Timestamp("2026-01-02", tz="UTC")
    assert utc.dt.year.isin([2024, 2025]).mean() > 0.99


def test_optional_columns_are_mostly_empty_and_valid(tables):
    messages = tables["messages"]
    filled = messages[["customer_id", "category", "product"]].ne("").mean()
    assert (filled > 0).all() and (filled < 0.3).all()
    assert set(messages["product"]) - {""} == FAMILIES
    assert set(messages["source"]) == {"", "email", "portal", "message_center", "service_health"}
    portal_posts = messages[messages["source"].isin(["message_center", "service_health"])]
    assert portal_posts["category"].isin(GRAPH_CATEGORIES).all()
    assert set(messages["category"]) - {""} - GRAPH_CATEGORIES == {"subscription", "operational", "marketing"}
    assert set(messages["language"]) == {"en", "zh-CN", ""}
    chinese = messages["subject"].str.contains(r"[\u4e00-\u9fff]")
    assert 0.15 < chinese.mean() < 0.35
    assert (chinese == (messages["language"] == "zh-CN"))[messages["language"] != ""].all()


def test_audit_sees_every_topic_product_party_and_verdict(verdicts):
    assert set(verdicts["topic"].astype(str)) == {"subscription", "operational", "marketing", "unknown"}
    assert set(verdicts["product"].astype(str)) == FAMILIES | {"unknown"}
    assert set(verdicts["sender_party"].astype(str)) == {"microsoft", "partner_of_record", "other_partner", "unknown"}
    assert set(verdicts["verdict"].astype(str)) == {"allowed", "violation", "needs_review", "out_of_scope"}
    assert 0.05 <= (verdicts["verdict"] == "violation").mean() <= 0.15
    lookalike = verdicts["sender_address"].astype(str).str.contains("evil.example|notmicrosoft.com")
    assert (verdicts.loc[lookalike, "sender_party"] == "unknown").all()


def test_chunked_parquet_has_exactly_n_rows(tmp_path):
    path = generate_dataset(tmp_path, n_messages=25_000, seed=3, fmt="parquet", chunk_rows=10_000)
    assert path == tmp_path / "messages.parquet"
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_rows == 25_000
    assert parquet.metadata.num_row_groups == 3  # one per chunk: 10,000 + 10,000 + 5,000
    keys = parquet.read(columns=["message_id", "recipient_address"]).to_pandas()
    assert not keys.duplicated().any()
    assert parquet.schema_arrow.names == MESSAGE_HEADER


def test_chunked_csv_has_one_header(tmp_path):
    path = generate_dataset(tmp_path, n_messages=2_500, seed=3, fmt="csv", chunk_rows=1_000)
    messages = read_text_csv(path)
    assert len(messages) == 2_500
    assert not (messages["message_id"] == "message_id").any()


def test_default_format_follows_the_row_count(tmp_path, monkeypatch):
    monkeypatch.setattr(generate_module, "CSV_MAX_ROWS", 100)
    assert generate_dataset(tmp_path / "small", n_messages=100).suffix == ".csv"
    assert generate_dataset(tmp_path / "big", n_messages=101).suffix == ".parquet"


@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 2_000), chunk=st.integers(1, 700))
def test_any_row_count_and_chunk_size_gives_exactly_n_unique_rows(tmp_path_factory, n, chunk):
    path = generate_dataset(tmp_path_factory.mktemp("any"), n_messages=n, seed=5, fmt="parquet", chunk_rows=chunk)
    keys = pq.read_table(path, columns=["message_id", "recipient_address"]).to_pandas()
    assert len(keys) == n and not keys.duplicated().any()

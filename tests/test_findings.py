"""Finding and pattern ids name the same mail and the same habit in every run (issue: the compliance loop)."""
from __future__ import annotations

import pandas as pd
import pytest

from auditlib import load_policy
from auditlib.audit import audit_files
from auditlib.engines import AuditJob, run_engine
from auditlib.findings import identify, short_ids

from conftest import ROOT

SAMPLE = ROOT / "data" / "sample"


def row(**facts) -> dict:
    base = {"message_id": "m1", "recipient_address": "ana@contoso.com", "sender_address": "billing@microsoft.com",
            "customer_id": "C1", "topic": "subscription", "product": "azure", "verdict": "violation", "rule_id": "CSP-COMM-2"}
    return base | facts


def test_a_finding_is_named_by_its_message_and_recipient_alone():
    ids = identify(pd.DataFrame([row(), row(topic="marketing", rule_id="CSP-COMM-4", sent_at="later"),
                                 row(recipient_address="ANA@Contoso.com"), row(recipient_address="bo@contoso.com")]))
    assert ids["finding_id"][0] == ids["finding_id"][1] == ids["finding_id"][2]  # recipients compare case-insensitively
    assert ids["finding_id"][3] != ids["finding_id"][0]
    assert ids["finding_id"].str.fullmatch(r"F[0-9a-f]{16}").all()


def test_a_pattern_is_one_sender_customer_topic_product_and_outcome():
    ids = identify(pd.DataFrame([row(), row(message_id="m2", recipient_address="bo@contoso.com"),
                                 row(message_id="m3", sender_address="Billing@Microsoft.com"),
                                 row(message_id="m4", topic="marketing"), row(message_id="m5", customer_id="C2"),
                                 row(message_id="m6", verdict="needs_review", rule_id=None)]))["pattern_id"]
    assert ids[0] == ids[1] == ids[2]
    assert len({ids[0], ids[3], ids[4], ids[5]}) == 4
    assert ids.str.fullmatch(r"P[0-9a-f]{16}").all()


def test_rows_that_are_not_findings_carry_no_ids():
    ids = identify(pd.DataFrame([row(verdict="allowed", rule_id="CSP-COMM-3"), row(verdict="out_of_scope", rule_id=None)]))
    assert ids.isna().all().all()


def test_empty_values_name_the_same_pattern_however_they_were_read():
    ids = identify(pd.DataFrame([row(customer_id=None), row(message_id="m2", customer_id=float("nan")),
                                 row(message_id="m3", customer_id="")]))["pattern_id"]
    assert ids.nunique() == 1


def test_short_ids_spell_the_hash_in_hex():
    import numpy as np
    assert list(short_ids("F", np.array([0, 255, 2**64 - 1], dtype="uint64"))) == \
        ["F0000000000000000", "F00000000000000ff", "Fffffffffffffffff"]


@pytest.fixture(scope="module")
def reference():
    return audit_files([SAMPLE / "messages.csv"], SAMPLE / "registry").set_index(["message_id", "recipient_address"])


def test_ids_do_not_depend_on_row_order(tmp_path, reference):
    shuffled = pd.read_csv(SAMPLE / "messages.csv", dtype=str, keep_default_na=False).sample(frac=1, random_state=7)
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    again = audit_files([tmp_path / "shuffled.csv"], SAMPLE / "registry").set_index(["message_id", "recipient_address"])
    assert reference["finding_id"].notna().sum() > 100
    pd.testing.assert_frame_equal(again.loc[reference.index, ["finding_id", "pattern_id"]], reference[["finding_id", "pattern_id"]])


def test_ids_do_not_depend_on_batches(tmp_path, reference):
    run_engine("pandas", AuditJob((SAMPLE / "messages.csv",), SAMPLE / "registry", tmp_path / "v.csv", load_policy(), batch_rows=333))
    batched = pd.read_csv(tmp_path / "v.csv", dtype=str).set_index(["message_id", "recipient_address"])
    expected = reference[["finding_id", "pattern_id"]].astype("str").replace("None", float("nan"))
    pd.testing.assert_frame_equal(batched.loc[reference.index, ["finding_id", "pattern_id"]], expected, check_dtype=False)

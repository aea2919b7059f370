"""Issue 6: every row accounted for, bad input met with one line (never a traceback), and
recipients masked on request. Expected values are counted by hand from the rows written here."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import auditlib
from auditlib.cli import main
from auditlib.errors import InputWarning
from auditlib.privacy import MASK_KEY_ENV, mask_address
from auditlib.registry import overlapping_csp

from conftest import FIXTURES, one_error_line

REGISTRY = FIXTURES / "registry"
HEADER = "message_id,sent_at,sender_address,recipient_address,subject\n"
INVOICE = "m1,2025-04-01T10:00:00Z,billing@microsoft.com,a@csp.example,Your invoice is ready\n"
OUTAGE = "m2,2025-04-01T11:00:00Z,health@microsoft.com,b@csp.example,Service incident: outage\n"


def audit(tmp_path: Path, *inputs: Path, options=(), registry: Path = REGISTRY, env=None):
    """``auditlib audit`` in process; returns (result, output path). A traceback would show as ``result.exception``."""
    out = tmp_path / "out" / "verdicts.csv"
    result = CliRunner().invoke(main, ["audit", *map(str, inputs), "--registry", str(registry), "--output", str(out),
                                       *options], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result, out


def write(path: Path, text: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(text if isinstance(text, bytes) else text.encode(encoding))
    return path


def manifest(out: Path) -> dict:
    return json.loads(out.with_name("verdicts.csv.manifest.json").read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- accounting


def test_rows_read_are_verdicts_plus_rejected_plus_copies_in_summary_and_manifest(tmp_path):
    log = write(tmp_path / "log.csv", HEADER + INVOICE + OUTAGE
                + INVOICE                                                   # the same row again: a copy
                + "m3,2025-04-01T10:00:00Z,x@microsoft.com,c@csp.example\n"  # 4 fields: rejected
                + "m4,2025-04-01T10:00:00Z,x@microsoft.com,d@csp.example,Hi\n")
    result, out = audit(tmp_path, log)
    assert result.exit_code == 0, result.output
    assert (f"5 rows read, 3 verdicts (allowed 1, violation 1, needs_review 1, out_of_scope 0), 1 rejected "
            f"(listed in {out.with_name('verdicts.csv.rejected.csv')}), 1 duplicates removed -> {out}") in result.output
    assert len(pd.read_csv(out)) == 3
    rejected = pd.read_csv(out.with_name("verdicts.csv.rejected.csv"))
    assert rejected[["file", "record", "message_id", "reason"]].values.tolist() == [
        [str(log), 4, "m3", "4 fields where the header has 5"]]
    account = manifest(out)["accounting"]
    assert account == {"rows_read": 5, "verdicts": 3, "rejected": 1, "duplicates_removed": 1,
                       "by_verdict": account["by_verdict"], "balanced": True}
    assert sum(account["by_verdict"].values()) == 3


def test_manifest_cites_inputs_by_sha256_with_policy_and_version(tmp_path):
    import hashlib

    log = write(tmp_path / "log.csv", HEADER + INVOICE)
    result, out = audit(tmp_path, log)
    assert result.exit_code == 0
    found = manifest(out)
    assert found["inputs"] == {str(log): hashlib.sha256(log.read_bytes()).hexdigest()}
    assert set(found["registry"]) == {str(REGISTRY / n) for n in ("partners.csv", "customers.csv", "agreements.csv")}
    assert found["policy_version"] == auditlib.load_policy().version
    assert found["auditlib_version"] and found["seconds"] >= 0 and found["warnings"] == []


def test_strict_makes_the_first_rejection_an_error_and_writes_nothing(tmp_path):
    log = write(tmp_path / "log.csv", HEADER + INVOICE + "m3,2025-04-01T10:00:00Z,x@microsoft.com,c@csp.example,Hi,extra\n")
    result, out = audit(tmp_path, log, options=["--strict"])
    line = one_error_line(result)
    assert f"{log}, row 2: rejected (--strict): 6 fields where the header has 5" in line
    assert not out.exists()


# ----------------------------------------------------------------------------- duplicates


def test_identical_copies_are_removed_and_counted_across_files_and_spellings(tmp_path):
    first = write(tmp_path / "a.csv", HEADER + INVOICE)
    # the same message: the recipient in capitals, the time with an offset
    second = write(tmp_path / "b.csv", HEADER + "m1,2025-04-01T12:00:00+02:00,billing@microsoft.com,A@CSP.EXAMPLE,Your invoice is ready\n")
    log = auditlib.read_log([first, second])
    assert len(log.messages) == 1 and log.duplicates == 1 and log.rejected.empty and log.rows_read == 2
    assert log.messages["recipient_address"].tolist() == ["a@csp.example"]  # the first copy is kept


def test_copies_that_differ_are_all_rejected_each_naming_another(tmp_path):
    path = write(tmp_path / "log.csv", HEADER + INVOICE + OUTAGE + INVOICE
                 + "m1,2025-04-01T10:00:00Z,billing@microsoft.com,a@csp.example,Your invoice is overdue\n")
    log = auditlib.read_log(path)
    assert log.messages["message_id"].tolist() == ["m2"]
    assert log.duplicates == 0 and log.rows_read == 4
    other = "same message_id and recipient_address as {} record {}, with different content"
    assert log.rejected[["record", "reason"]].values.tolist() == [
        [1, other.format(path, 4)], [3, other.format(path, 4)], [4, other.format(path, 1)]]


# ----------------------------------------------------------------------------- bad input, one case each


@pytest.mark.parametrize("text,words", [
    ("message_id,sent_at,sender_address,recipient_address\nm1,2025-04-01T10:00:00Z,a@microsoft.com,b@csp.example\n",
     "missing required column(s): subject"),
    ("", "empty file: no header row"),
    (HEADER + "m1,2025-04-01T10:00:00Z,a@microsoft.com,b@csp.example,\"never closed\nm2,2025-04-01T10:00:00Z,a@microsoft.com,c@csp.example,x\n",
     "row 1: unreadable CSV (unexpected end of data): a quote opened at line 2 is never closed"),
    (HEADER + "m1,2025-04-01T25:00:00Z,a@microsoft.com,b@csp.example,x\n", "row 1, column sent_at: '2025-04-01T25:00:00Z' is not an ISO 8601 time"),
    (HEADER + "m1,0001-01-01T00:00:00Z,a@microsoft.com,b@csp.example,x\n", "row 1, column sent_at: '0001-01-01T00:00:00Z' is out of range"),
], ids=["missing column", "empty file", "unbalanced quote", "unparseable time", "out-of-range time"])
def test_unusable_message_logs_stop_with_one_line(tmp_path, text, words):
    log = write(tmp_path / "log.csv", text)
    line = one_error_line(audit(tmp_path, log)[0])
    assert str(log) in line and words in line


def test_header_only_is_an_empty_audit(tmp_path):
    result, out = audit(tmp_path, write(tmp_path / "log.csv", HEADER))
    assert result.exit_code == 0, result.output
    assert "0 rows read, 0 verdicts" in result.output
    assert pd.read_csv(out).empty and manifest(out)["accounting"]["balanced"]


def test_extra_columns_are_ignored(tmp_path):
    plain = write(tmp_path / "plain.csv", HEADER + INVOICE)
    extra = write(tmp_path / "extra.csv", "x_mailbox,message_id,sent_at,sender_address,recipient_address,subject,size\n"
                  "inbox," + INVOICE.strip() + ",20480\n")
    expected = auditlib.run_audit([plain], REGISTRY).verdicts
    pd.testing.assert_frame_equal(auditlib.run_audit([extra], REGISTRY).verdicts, expected)


def test_ragged_rows_are_rejected_with_their_record_and_later_errors_keep_their_row(tmp_path):
    log = write(tmp_path / "log.csv", HEADER + "m0,2025-04-01T10:00:00Z,a@microsoft.com\n" + INVOICE
                + "m9,yesterday,a@microsoft.com,b@csp.example,x\n")
    with pytest.raises(auditlib.InputError) as caught:
        auditlib.read_log(log)
    assert (caught.value.row, caught.value.column) == (3, "sent_at")  # the file's record 3, not the 2nd row kept
    write(log, HEADER + "m0,2025-04-01T10:00:00Z,a@microsoft.com\n" + INVOICE)
    found = auditlib.read_log(log)
    assert found.messages["message_id"].tolist() == ["m1"]
    assert found.rejected[["record", "message_id", "reason"]].values.tolist() == [[1, "m0", "3 fields where the header has 5"]]


def test_newlines_nul_bytes_and_a_1_mb_subject_survive_to_the_output(tmp_path):
    subject = "Your invoice\r\nis \x00 ready, \"quoted\"; " + "é" * 500_000  # 1 MB of UTF-8
    frame = pd.DataFrame([{"message_id": "m1", "sent_at": "2025-04-01T10:00:00Z", "sender_address": "billing@microsoft.com",
                           "recipient_address": "a@csp.example", "subject": subject}])
    log = tmp_path / "log.csv"
    frame.to_csv(log, index=False)
    assert log.stat().st_size > 1_000_000
    assert auditlib.read_messages(log)["subject"].tolist() == [subject]
    result, out = audit(tmp_path, log, options=["--evidence"])
    assert result.exit_code == 0, result.output
    verdict = pd.read_csv(out, dtype="str", keep_default_na=False)
    assert verdict[["topic", "verdict"]].values.tolist() == [["subscription", "violation"]]


# ----------------------------------------------------------------------------- encodings


def test_gb18030_is_read_with_a_warning_and_utf16_with_bom_silently(tmp_path):
    before = HEADER + "m1,2025-04-01T10:00:00Z,billing@microsoft.com,a@csp.example,"
    text = before + "您的订阅即将到期\n"
    offset = len(before)  # ASCII up to the subject: its first byte is the first that is not UTF-8
    gb = write(tmp_path / "gb.csv", text, "gb18030")
    utf16 = write(tmp_path / "utf16.csv", text, "utf-16")
    assert utf16.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")
    for path in (gb, utf16):
        assert auditlib.read_messages(path)["subject"].tolist() == ["您的订阅即将到期"]
    result, out = audit(tmp_path, gb)
    assert result.exit_code == 0
    assert f"auditlib: warning: {gb}: not UTF-8 (byte offset {offset}), read as GB18030" in result.output
    assert manifest(out)["warnings"] == [f"{gb}: not UTF-8 (byte offset {offset}), read as GB18030"]
    assert pd.read_csv(out)["topic"].tolist() == ["subscription"]


def test_undecodable_bytes_name_the_file_and_offset(tmp_path):
    body = (HEADER + "m1,2025-04-01T10:00:00Z,billing@microsoft.com,a@csp.example,x").encode()
    log = write(tmp_path / "log.csv", body + b"\xff\xfe\xfd\n")  # no encoding here decodes 0xFF
    line = one_error_line(audit(tmp_path, log)[0])
    assert f"{log}: not UTF-8" in line and f"offset {len(body)}" in line


# ----------------------------------------------------------------------------- the registry


def copy_registry(tmp_path: Path) -> Path:
    folder = tmp_path / "registry"
    shutil.copytree(REGISTRY, folder)
    return folder


@pytest.mark.parametrize("name", ["partners.csv", "customers.csv", "agreements.csv"])
def test_an_empty_registry_file_stops_with_one_line(tmp_path, name):
    folder = copy_registry(tmp_path)
    write(folder / name, "")
    line = one_error_line(audit(tmp_path, write(tmp_path / "log.csv", HEADER + INVOICE), registry=folder)[0])
    assert str(folder / name) in line and "empty file" in line


def test_an_unknown_registry_file_is_named(tmp_path):
    folder = copy_registry(tmp_path)
    (folder / "customers.csv").rename(folder / "customer.csv")
    line = one_error_line(audit(tmp_path, write(tmp_path / "log.csv", HEADER + INVOICE), registry=folder)[0])
    assert "customers.csv: registry file missing (the folder holds: customer.csv)" in line
    shutil.copy(REGISTRY / "customers.csv", folder / "customers.csv")
    result, out = audit(tmp_path, tmp_path / "log.csv", registry=folder)
    assert result.exit_code == 0
    assert f"warning: {folder / 'customer.csv'}: not a registry file, not read" in result.output


def test_overlapping_csp_agreements_warn_and_attribute_to_both(tmp_path):
    folder = copy_registry(tmp_path)
    with (folder / "agreements.csv").open("a") as fh:  # C-CSP already has P-RES for microsoft-365;azure from 2025-01-01
        fh.write("C-CSP,csp,P-DIR,azure;windows,2025-03-01,2025-06-01\nC-CSP,csp,P-OTHER,dynamics-365,2025-03-01,\n")
    with pytest.warns(InputWarning):
        overlaps = overlapping_csp(auditlib.read_registry(folder))
    assert overlaps[["customer_id", "row", "other_row", "partners", "products"]].values.tolist() == [
        ["C-CSP", 1, 11, "P-RES;P-DIR", "azure"]]  # P-OTHER's dynamics-365 shares no family
    log = write(tmp_path / "log.csv", HEADER + INVOICE.replace("2025-04-01", "2025-04-02") + OUTAGE.replace("2025-04-01", "2025-07-01"))
    result, out = audit(tmp_path, log, registry=folder)
    warning = (f"{folder / 'agreements.csv'}, rows 1 and 11: customer C-CSP has csp agreements with partners P-RES and P-DIR "
               "for azure from 2025-03-01 to 2025-06-01; its messages then are attributed to both")
    assert f"auditlib: warning: {warning}" in result.output
    assert manifest(out)["warnings"] == [warning]
    verdicts = pd.read_csv(out).set_index("message_id")
    assert verdicts.loc["m1", "partner_ids"] == "P-DIR;P-OTHER;P-RES" and "P-DIR;P-OTHER;P-RES" in verdicts.loc["m1", "reason"]
    assert verdicts.loc["m2", "partner_ids"] == "P-OTHER;P-RES"


# ----------------------------------------------------------------------------- masking


def test_mask_recipients_hashes_addresses_with_the_key_from_the_environment(tmp_path):
    log = write(tmp_path / "log.csv", HEADER + INVOICE + "m5,2025-04-01T10:00:00Z,x@microsoft.com,Someone@Nowhere.example,Hi\n"
                + "m6,2025-04-01T10:00:00Z,x@microsoft.com,a@csp.example\n")  # rejected: its recipient masked too
    refused = audit(tmp_path, log, options=["--mask-recipients"], env={MASK_KEY_ENV: ""})[0]
    assert MASK_KEY_ENV in one_error_line(refused)
    result, out = audit(tmp_path, log, options=["--mask-recipients"], env={MASK_KEY_ENV: "k1"})
    assert result.exit_code == 0, result.output
    rejected = pd.read_csv(out.with_name("verdicts.csv.rejected.csv"))
    assert rejected["recipient_address"].tolist() == [mask_address("a@csp.example", b"k1")]
    text = out.read_text() + out.with_name("verdicts.csv.rejected.csv").read_text()
    verdicts = pd.read_csv(out)
    masked = mask_address("someone@nowhere.example", b"k1")
    assert masked.endswith("@nowhere.example") and len(masked.split("@")[0]) == 12
    assert verdicts["recipient_address"].tolist() == [mask_address("a@csp.example", b"k1"), masked]
    assert masked in verdicts.loc[1, "reason"]  # "No customer matches recipient ..." names the mask
    assert "someone" not in text.lower() and "a@csp.example" not in text
    assert manifest(out)["options"]["mask_recipients"] is True
    # the same key gives the same masks, another key others; letter case does not matter
    assert mask_address("SomeOne@nowhere.EXAMPLE", b"k1") == masked != mask_address("someone@nowhere.example", b"k2")

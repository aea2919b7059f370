"""Issue 11: outputs that never lie. Atomic outputs with their own manifest, CSV that reads back
as written, one error line for every unusable input or output, a validated registry, safe
file names, honest report re-runs and no cross-partner text in a partner's kernel."""
from __future__ import annotations

import errno
import json
import os
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import auditlib
from auditlib import summarise
from auditlib.cli import main
from auditlib.errors import InputError, InputWarning
from auditlib.io import load_inputs, load_verdicts
from auditlib.io.lock import locked
from auditlib.io.names import safe_name
from auditlib.io.tables import neutralise_formulas, parquet_metadata, restore_formulas

from conftest import FIXTURES, one_error_line

REGISTRY = FIXTURES / "registry"
HEADER = "message_id,sent_at,sender_address,recipient_address,subject\n"
ROWS = ("m1,2025-04-01T10:00:00Z,billing@microsoft.com,a@csp.example,Your invoice is ready\n"
        "m2,2025-04-01T11:00:00Z,health@microsoft.com,b@csp.example,Service incident: outage\n")


def run(*args) -> "click.testing.Result":
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def registry(folder: Path, partners: list[tuple], customers: list[tuple], agreements: list[tuple]) -> Path:
    """A registry folder from rows of partners, customers and agreements."""
    tables = {"partners.csv": ("partner_id,partner_name,partner_type,parent_partner_id,sender_domains", partners),
              "customers.csv": ("customer_id,customer_name,cloud,domains", customers),
              "agreements.csv": ("customer_id,channel,partner_id,products,start_date,end_date", agreements)}
    for name, (header, rows) in tables.items():
        write(folder / name, "\n".join([header, *(",".join(row) for row in rows)]) + "\n")
    return folder


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# ----------------------------------------------------------------------------- (2) atomic, self-describing outputs


def test_a_failed_batched_run_leaves_the_previous_complete_output_and_manifest(tmp_path):
    good = write(tmp_path / "log.csv", HEADER + ROWS)
    out = tmp_path / "out" / "v.parquet"
    assert run("audit", good, "--registry", REGISTRY, "--output", out).exit_code == 0
    before = files_in(out.parent)
    rows = pd.read_csv(good, dtype="str")
    bad = pd.concat([rows, rows.assign(message_id=["m3", "m4"], sent_at=["2025-04-01T10:00:00Z", "yesterday"])])
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), tmp_path / "bad.parquet", row_group_size=2)
    failed = run("audit", tmp_path / "bad.parquet", "--registry", REGISTRY, "--output", out, "--batch-rows", "2")
    assert "yesterday" in one_error_line(failed)
    assert files_in(out.parent) == before  # no partial file, no staged leftovers, the old manifest still matches
    assert len(load_verdicts(out)) == 2


def test_each_output_has_its_own_manifest_and_the_parquet_file_names_its_run(tmp_path):
    log = write(tmp_path / "log.csv", HEADER + ROWS)
    for name in ("v.csv", "v.parquet"):
        assert run("audit", log, "--registry", REGISTRY, "--output", tmp_path / name).exit_code == 0
    csv_manifest = json.loads((tmp_path / "v.csv.manifest.json").read_text())
    parquet_manifest = json.loads((tmp_path / "v.parquet.manifest.json").read_text())
    assert csv_manifest["run_id"] != parquet_manifest["run_id"]
    assert csv_manifest["output"]["file"] == "v.csv" and parquet_manifest["output"]["file"] == "v.parquet"
    stamp = parquet_metadata(tmp_path / "v.parquet")
    assert stamp["run_id"] == parquet_manifest["run_id"]
    assert stamp["accounting"] == parquet_manifest["accounting"] and stamp["accounting"]["verdicts"] == 2
    assert not (tmp_path / "v.manifest.json").exists()


def test_a_clean_rerun_removes_the_previous_rejected_rows(tmp_path):
    out = tmp_path / "v.csv"
    ragged = write(tmp_path / "ragged.csv", HEADER + ROWS + "m3,2025-04-01T10:00:00Z,x@microsoft.com\n")
    assert run("audit", ragged, "--registry", REGISTRY, "--output", out).exit_code == 0
    assert (tmp_path / "v.csv.rejected.csv").is_file()
    clean = write(tmp_path / "clean.csv", HEADER + ROWS)
    assert run("audit", clean, "--registry", REGISTRY, "--output", out).exit_code == 0
    assert not (tmp_path / "v.csv.rejected.csv").exists()
    assert json.loads((tmp_path / "v.csv.manifest.json").read_text())["accounting"]["rejected"] == 0


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_readers_refuse_a_verdicts_file_its_manifest_does_not_describe(tmp_path, suffix):
    out, other = tmp_path / f"v{suffix}", tmp_path / "other" / f"v{suffix}"
    for path, rows in ((out, ROWS), (other, ROWS.splitlines(keepends=True)[0])):
        log = write(path.parent / "log.csv", HEADER + rows)
        assert run("audit", log, "--registry", REGISTRY, "--output", path).exit_code == 0
    shutil.copy(other, out)  # another run's file beside this run's manifest
    with pytest.raises(InputError, match="manifest"):
        load_verdicts(out)
    result = run("report", "--verdicts", out, "--registry", REGISTRY, "--output", tmp_path / "reports")
    assert "manifest" in one_error_line(result)
    (tmp_path / f"v{suffix}.manifest.json").unlink()
    if suffix == ".parquet":  # the file still names its run: a missing manifest is refused too
        with pytest.raises(InputError, match="manifest .* is missing"):
            load_verdicts(out)


# ----------------------------------------------------------------------------- (4) CSV that round-trips


RISKY = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\tplain", "\rx", "\nx", " =1", '"=1', "'=1", "  \"@x",
         "\uff1d1", "\uff0b1", "\uff0d1", "\uff20x", "\u3000=1"]
SAFE = ["plain", "a=b", "1-2", "", "mail@example.com", "'quoted"]


def test_the_formula_guard_covers_every_owasp_lead_and_reads_back_exactly():
    frame = pd.DataFrame({"text": RISKY + SAFE + [None]})
    guarded = neutralise_formulas(frame)["text"]
    assert all(v.startswith("'") for v in guarded[:len(RISKY)])
    assert guarded[len(RISKY):len(RISKY) + len(SAFE)].tolist() == SAFE
    assert restore_formulas(neutralise_formulas(frame))["text"].tolist()[:-1] == RISKY + SAFE


def test_audit_to_csv_then_report_equals_audit_to_parquet_then_report(tmp_path):
    ids = ["=P1", "+P2", "-P3", "@P4"]
    reg = registry(tmp_path / "registry", [(p, f"name {p}", "direct_bill", "", f"p{i}.example") for i, p in enumerate(ids)],
                   [(f"C{i}", f"=cust{i}", "commercial", f"c{i}.example") for i in range(4)],
                   [(f"C{i}", "csp", p, "*", "2025-01-01", "") for i, p in enumerate(ids)])
    log = write(tmp_path / "log.csv", HEADER + "".join(
        f"m{i},2025-04-01T10:00:00Z,billing@microsoft.com,=admin@c{i}.example,=Your invoice is ready\n" for i in range(4)))
    loaded = {}
    for suffix in (".csv", ".parquet"):
        assert run("audit", log, "--registry", reg, "--output", tmp_path / f"v{suffix}").exit_code == 0
        loaded[suffix] = load_inputs(verdicts=tmp_path / f"v{suffix}", registry=reg)
    csv, parquet = loaded[".csv"], loaded[".parquet"]
    pd.testing.assert_frame_equal(csv.verdicts.astype("str"), parquet.verdicts.astype("str"))
    period = summarise.Period.of("", "", parquet.verdicts["sent_at"])
    tables = [summarise.partner_table(i.verdicts, i.registry, period) for i in (csv, parquet)]
    pd.testing.assert_frame_equal(*tables)
    assert tables[0].set_index("partner_id").loc[ids, "messages"].tolist() == [1, 1, 1, 1]


# ----------------------------------------------------------------------------- (7) clean errors


def _parquet(path: Path, **columns) -> Path:
    base = {"message_id": ["m1"], "sent_at": ["2025-04-01T10:00:00Z"], "sender_address": ["billing@microsoft.com"],
            "recipient_address": ["a@csp.example"], "subject": ["Invoice"]}
    pq.write_table(pa.table(base | columns), path)
    return path


BAD_LOGS = {
    "jsonl-invalid-utf8": lambda d: write(d / "bad.jsonl", b'{"message_id": "m1", "subject": "\xff\xfe"}\n{"a": 1'),
    "jsonl-deeply-nested": lambda d: write(d / "deep.jsonl", '{"message_id": ' + "[" * 100_000 + "]" * 100_000 + "}\n"),
    "jsonl-array-recipient": lambda d: write(d / "arr.jsonl", json.dumps(
        {"message_id": "m1", "sent_at": "2025-04-01T10:00:00Z", "sender_address": "billing@microsoft.com",
         "recipient_address": ["a@csp.example"], "subject": "x"}) + "\n"),
    "csv-column-twice": lambda d: write(d / "dup.csv", HEADER.strip() + ",Subject\n" + ROWS.splitlines()[0] + ",x\n"),
    "csv-blank-message-id": lambda d: write(d / "blank.csv", HEADER + "   " + ROWS[2:]),
    "parquet-list-column": lambda d: _parquet(d / "list.parquet", recipient_address=[["a@csp.example"]]),
    "parquet-struct-column": lambda d: _parquet(d / "struct.parquet", subject=[{"text": "Invoice"}]),
}


@pytest.mark.parametrize("case", sorted(BAD_LOGS))
def test_unusable_logs_end_with_one_error_line(tmp_path, case):
    path = BAD_LOGS[case](tmp_path)
    out = tmp_path / "out" / "v.csv"
    assert str(path) in one_error_line(run("audit", path, "--registry", REGISTRY, "--output", out))
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_a_header_only_agreements_file_is_one_error_line(tmp_path):
    reg = tmp_path / "registry"
    shutil.copytree(REGISTRY, reg)
    write(reg / "agreements.csv", "customer_id,channel,partner_id,products,start_date,end_date\n")
    log = write(tmp_path / "log.csv", HEADER + ROWS)
    assert "agreements.csv" in one_error_line(run("audit", log, "--registry", reg, "--output", tmp_path / "v.csv"))


def test_unwritable_outputs_are_one_error_line(tmp_path):
    log = write(tmp_path / "log.csv", HEADER + ROWS)
    (tmp_path / "folder.csv").mkdir()
    assert "is a folder" in one_error_line(run("audit", log, "--registry", REGISTRY, "--output", tmp_path / "folder.csv"))
    assert "is the input" in one_error_line(run("audit", log, "--registry", REGISTRY, "--output", log))
    assert "inside the input folder" in one_error_line(
        run("audit", log, "--registry", REGISTRY, "--output", REGISTRY / "v.csv"))
    write(tmp_path / "reports" / "partners", "a file where the partners folder goes")
    assert run("audit", log, "--registry", REGISTRY, "--output", tmp_path / "v.csv").exit_code == 0
    result = run("report", "--verdicts", tmp_path / "v.csv", "--registry", REGISTRY, "--output", tmp_path / "reports")
    assert "a file stands where a folder should be" in one_error_line(result)


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left on device"), (errno.EROFS, "read-only file system")])
def test_a_full_or_read_only_disk_is_one_error_line_and_keeps_the_previous_output(tmp_path, monkeypatch, code, words):
    log = write(tmp_path / "log.csv", HEADER + ROWS)
    out = tmp_path / "out" / "v.csv"
    assert run("audit", log, "--registry", REGISTRY, "--output", out).exit_code == 0
    before = files_in(out.parent)
    real = pd.DataFrame.to_csv

    def fail_midway(self, path=None, *args, **kwargs):
        real(self.head(1), path, *args, **kwargs)  # part of the file is on disk when the disk gives out
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_midway)
    assert words in one_error_line(run("audit", log, "--registry", REGISTRY, "--output", out))
    assert files_in(out.parent) == before  # neither a truncated CSV nor a staged leftover


# ----------------------------------------------------------------------------- (8) registry structure and domains


PARENTS = {
    "cycle": [("A", "a", "indirect_reseller", "B", "a.example"), ("B", "b", "indirect_reseller", "A", "b.example")],
    "self-parent": [("A", "a", "indirect_reseller", "A", "a.example")],
    "parent-on-direct-bill": [("A", "a", "indirect_provider", "", "a.example"), ("B", "b", "direct_bill", "A", "b.example")],
    "parent-not-a-provider": [("A", "a", "direct_bill", "", "a.example"), ("B", "b", "indirect_reseller", "A", "b.example")],
}


@pytest.mark.parametrize("case", sorted(PARENTS))
def test_parent_partners_must_form_providers_over_resellers(tmp_path, case):
    reg = registry(tmp_path / "registry", PARENTS[case], [("C1", "c", "commercial", "c.example")],
                   [("C1", "csp", "A", "*", "2025-01-01", "")])
    log = write(tmp_path / "log.csv", HEADER + ROWS)
    line = one_error_line(run("audit", log, "--registry", reg, "--output", tmp_path / "v.csv"))
    assert "partners.csv" in line and "parent_partner_id" in line


def test_domains_match_in_any_case_with_a_trailing_dot_and_as_punycode(tmp_path):
    reg = registry(tmp_path / "registry", [("P1", "p", "direct_bill", "", "Partner.Example.")],
                   [("C1", "dot", "commercial", "Dot.Example."), ("C2", "idn", "commercial", "xn--bcher-kva.example"),
                    ("C3", "idn2", "commercial", "münchen.example")],
                   [(c, "csp", "P1", "*", "2025-01-01", "") for c in ("C1", "C2", "C3")])
    frame = pd.DataFrame({"message_id": ["m1", "m2", "m3", "m4"], "sent_at": "2025-04-01T10:00:00Z",
                          "sender_address": ["billing@microsoft.com"] * 3 + ["me@partner.example"],
                          "recipient_address": ["a@dot.example.", "b@BÜCHER.example", "c@xn--mnchen-3ya.example",
                                                "d@dot.example"],
                          "subject": "Your invoice is ready"})
    verdicts = auditlib.audit(frame, auditlib.read_registry(reg))
    assert verdicts["customer_id"].tolist() == ["C1", "C2", "C3", "C1"]
    assert verdicts["verdict"].tolist() == ["violation", "violation", "violation", "allowed"]


# ----------------------------------------------------------------------------- (6) safe names


def test_partner_file_names_are_unique_by_construction_and_never_device_names():
    ids = ["../x", "x", "a/b", "a_b", "P1", "p1", "CON", "nul", "COM1", ".hidden", ""]
    ids.append(safe_name("../x"))  # an id spelt like another id's file name
    names = [safe_name(i) for i in ids]
    assert len({n.lower() for n in names}) == len(ids)  # distinct even on a case-insensitive disk
    reserved = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
    assert not any(n.lower() in reserved or n.startswith(".") for n in names)


# ----------------------------------------------------------------------------- (3) one run per report folder


def test_a_second_report_into_a_locked_folder_is_refused(tmp_path):
    log = write(tmp_path / "log.csv", HEADER + ROWS)
    assert run("audit", log, "--registry", REGISTRY, "--output", tmp_path / "v.csv").exit_code == 0
    out = tmp_path / "reports"
    out.mkdir()
    with locked(out):
        result = run("report", "--verdicts", tmp_path / "v.csv", "--registry", REGISTRY, "--output", out)
    assert "another auditlib report is writing this folder" in one_error_line(result)
    assert [p.name for p in out.iterdir()] == [".auditlib.lock"]


# ----------------------------------------------------------------------------- (5) no other partner's text in a kernel


def test_a_notebooks_inputs_print_no_warning_about_other_partners_customers(tmp_path):
    reg = registry(tmp_path / "registry", [("P1", "one", "direct_bill", "", "one.example"),
                                           ("P2", "two", "direct_bill", "", "two.example")],
                   [("C-SECRET", "secret", "commercial", "secret.example")],
                   [("C-SECRET", "csp", "P1", "*", "2025-01-01", ""), ("C-SECRET", "csp", "P2", "*", "2025-01-01", "")])
    log = write(tmp_path / "log.csv", HEADER + ROWS)
    assert run("audit", log, "--registry", reg, "--output", tmp_path / "v.csv").exit_code == 0
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        inputs = load_inputs(verdicts=tmp_path / "v.csv", registry=reg)
    assert not [w for w in shown if issubclass(w.category, InputWarning)]
    assert any("C-SECRET" in w for w in inputs.warnings)  # kept for the caller, not printed in a kernel


def test_sigterm_during_an_audit_leaves_the_previous_outputs_and_no_staged_file(tmp_path, monkeypatch):
    import signal

    from auditlib import engines

    log = write(tmp_path / "log.csv", HEADER + ROWS)
    out = tmp_path / "out" / "v.csv"
    assert run("audit", log, "--registry", REGISTRY, "--output", out).exit_code == 0
    before = files_in(out.parent)

    def killed_midway(name, job):
        job.output.write_text("message_id\npartial\n")
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(engines, "run_engine", killed_midway)
    result = run("audit", log, "--registry", REGISTRY, "--output", out)
    assert result.exit_code == 130 and "stopped by SIGTERM" in result.output
    assert files_in(out.parent) == before


def test_an_output_folder_reached_through_a_link_is_written(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real", target_is_directory=True)
    log = write(tmp_path / "log.csv", HEADER + ROWS)
    assert run("audit", log, "--registry", REGISTRY, "--output", tmp_path / "linked" / "v.csv").exit_code == 0
    assert len(load_verdicts(tmp_path / "real" / "v.csv")) == 2

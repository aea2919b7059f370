"""Issue 11: honest report runs. A partner is skipped only when the files its last run wrote are
still there unchanged and its notebook completed; no link planted in the output is followed; a
failed write fails one report, not the run; SIGTERM stops every process and leaves an index."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from click.testing import CliRunner

from auditlib import report
from auditlib.cli import main

from conftest import one_customer_each
from auditlib.errors import OutputError
from auditlib.io.names import safe_name

ROOT = Path(__file__).resolve().parents[1]
PARTNERS = ("P1", "P2", "P3")


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> tuple[Path, Path]:
    """(verdicts, registry): one customer per partner, an invoice from Microsoft to each (a violation)."""
    base = tmp_path_factory.mktemp("runs")
    registry = one_customer_each(base / "registry", PARTNERS)
    log = base / "log.csv"
    log.write_text("message_id,sent_at,sender_address,recipient_address,subject\n" + "".join(
        f"m{p},2025-04-01T10:00:00Z,billing@microsoft.com,admin@c{p.lower()}.example,Your invoice is ready\n" for p in PARTNERS))
    verdicts = base / "verdicts.csv"
    result = CliRunner().invoke(main, ["audit", str(log), "--registry", str(registry), "--output", str(verdicts)])
    assert result.exit_code == 0, result.output
    return verdicts, registry


def statuses(result: report.RunResult) -> dict[str, str]:
    return {p.partner_id: p.status for p in result.partners}


def test_a_partner_is_skipped_only_when_its_files_are_the_ones_its_last_run_wrote(audited, tmp_path):
    verdicts, registry = audited
    out = tmp_path / "out"
    chosen = ["P1", "P2"]
    assert statuses(report.run_reports(out, registry, verdicts, partners=chosen)) == {"P1": "ok", "P2": "ok"}
    assert statuses(report.run_reports(out, registry, verdicts, partners=chosen)) == {"P1": "skipped", "P2": "skipped"}
    # P1's CSV now holds another run's data; P2's notebook was left half-executed
    (out / "partners" / f"{safe_name('P1')}.violations.csv").write_text("written by another run\n")
    notebook = out / "partners" / f"{safe_name('P2')}.ipynb"
    book = json.loads(notebook.read_text())
    book["metadata"]["papermill"]["end_time"] = None
    notebook.write_text(json.dumps(book))
    assert statuses(report.run_reports(out, registry, verdicts, partners=chosen)) == {"P1": "ok", "P2": "ok"}
    assert "another run" not in (out / "partners" / f"{safe_name('P1')}.violations.csv").read_text()


def test_links_planted_in_the_output_are_replaced_never_followed(audited, tmp_path):
    verdicts, registry = audited
    out, outside = tmp_path / "out", tmp_path / "outside.txt"
    outside.write_text("keep me")
    (out / "partners").mkdir(parents=True)
    for suffix in (".html", ".ipynb", ".violations.csv"):
        (out / "partners" / f"{safe_name('P1')}{suffix}").symlink_to(outside)
    (out / "index.html").symlink_to(outside)
    assert statuses(report.run_reports(out, registry, verdicts, partners=["P1"])) == {"P1": "ok"}
    assert outside.read_text() == "keep me"
    assert not any(p.is_symlink() for p in [out / "index.html", *(out / "partners").iterdir()])
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "partners").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(OutputError, match="symbolic link"):
        report.run_reports(linked, registry, verdicts, partners=["P1"])


def test_a_failed_write_fails_that_report_and_the_others_and_the_index_are_written(audited, tmp_path, monkeypatch):
    verdicts, registry = audited
    out = tmp_path / "out"
    real = report.write_table

    def disk_full_for_p1(frame, path, *args):
        if safe_name("P1") in Path(path).name:
            raise OutputError(str(path), "cannot write: no space left on device")
        return real(frame, path, *args)

    monkeypatch.setattr(report, "write_table", disk_full_for_p1)
    result = report.run_reports(out, registry, verdicts, partners=["P1", "P2"])
    assert statuses(result) == {"P1": "failed", "P2": "ok"}
    assert "no space left on device" in result.partners[0].error
    assert not list((out / "partners").glob(f"{safe_name('P1')}*"))
    assert "no space left on device" in (out / "index.html").read_text()


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_stops_every_worker_and_kernel_writes_the_index_and_exits_non_zero(audited, tmp_path):
    verdicts, registry = audited
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "auditlib", "report", "--verdicts", str(verdicts), "--registry",
                            str(registry), "--output", str(out), "--jobs", "2"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until notebooks are running in kernels
        family = _descendants(run.pid)
        if any(b"ipykernel" in Path(f"/proc/{p}/cmdline").read_bytes() for p in family if _alive(p)):
            break
        time.sleep(0.2)
    family = _descendants(run.pid)
    run.send_signal(signal.SIGTERM)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode != 0 and "stopped by SIGTERM" in stderr, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["interrupted"] == "SIGTERM" and (out / "index.html").is_file()
    time.sleep(5)  # kernels notice their worker is gone within a second
    assert not [p for p in family if _alive(p)]
    assert not [p for p in (out / "partners").iterdir() if p.name.startswith(".")]  # no half-written notebook left


def test_verdicts_kept_in_the_report_folder_are_read_and_an_input_in_partners_is_refused(audited, tmp_path):
    verdicts, registry = audited
    out = tmp_path / "out"
    (out / "partners").mkdir(parents=True)
    for name in (verdicts.name, f"{verdicts.name}.manifest.json"):
        (out / name).write_bytes((verdicts.parent / name).read_bytes())
    assert statuses(report.run_reports(out, registry, out / verdicts.name, partners=["P1"])) == {"P1": "ok"}
    planted = out / "partners" / verdicts.name
    planted.write_bytes(verdicts.read_bytes())
    with pytest.raises(OutputError, match="holds the input"):
        report.run_reports(out, registry, planted, partners=["P1"])

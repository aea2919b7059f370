"""Every public third-party export in ../shared/real/exports (see its README) goes through the
command line in place: read, or refused with one line saying what the file is and why; never a
traceback. Skipped when the folder is absent."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from auditlib.partner_center import kind_of, KINDS
from auditlib.io.formats.common import read_json_items
from auditlib.errors import InputError

REAL = Path(__file__).resolve().parents[2] / "shared" / "real" / "exports"
FIXTURES = Path(__file__).parent / "fixtures"
PC = FIXTURES / "formats" / "partner_center"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real/exports is absent")

MESSAGE_FILES = sorted(p for d in ("message-trace", "graph-servicecomms", "email") for p in (REAL / d).glob("*")) if REAL.is_dir() else []
PC_FILES = sorted((REAL / "partner-center").glob("*")) if REAL.is_dir() else []


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditlib", *map(str, args)], capture_output=True, text=True)


def ended_cleanly(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr
    if done.returncode:
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("path", MESSAGE_FILES, ids=lambda p: p.name)
def test_every_real_message_export_is_read(path, tmp_path):
    done = run("audit", path, "--registry", FIXTURES / "registry", "--output", tmp_path / "v.csv", "--customer-id", "C-CSP")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def test_the_real_folders_audit_as_batches(tmp_path):
    for folder in ("message-trace", "graph-servicecomms", "email"):
        done = run("audit", REAL / folder, "--registry", FIXTURES / "registry", "--output", tmp_path / f"{folder}.csv",
                   "--customer-id", "C-CSP")
        assert done.returncode == 0, done.stderr


def test_the_real_spoof_of_microsoft_is_not_microsoft(tmp_path):
    done = run("audit", REAL / "email" / "phishing_pot-sample-101.eml", "--registry", FIXTURES / "registry",
               "--output", tmp_path / "v.csv")
    assert done.returncode == 0, done.stderr
    verdict = pd.read_csv(tmp_path / "v.csv").iloc[0]
    assert (verdict["sender_address"], verdict["sender_party"]) == ("no-reply@microsoft.com", "unknown")


def _kind(path: Path) -> str | None:
    try:
        return next((k for k in map(kind_of, read_json_items(path)) if k), None)
    except InputError:
        return None  # broken as published (a trailing comma): refused by the command, checked below


@pytest.mark.parametrize("path", PC_FILES, ids=lambda p: p.name)
def test_every_real_partner_center_export_is_read_or_refused_in_one_line(path, tmp_path):
    slots = {"customers": [PC / "customers.json"], "subscriptions": [PC / "subscriptions_contoso.json"], "reseller relationships": []}
    kind = _kind(path) or "customers"
    slots[kind] = [*slots[kind], path] if kind != "customers" else [path]
    options = [a for k, files in slots.items() for f in files for a in (KINDS[k][2], f)]
    done = run("registry", "from-partner-center", tmp_path / "reg", *options,
               "--partner-id", "1234567", "--partner-type", "indirect_provider")
    ended_cleanly(done)
    if kind != "customers":  # the wrong slot names what the file is
        wrong = run("registry", "from-partner-center", tmp_path / "wrong", "--customers", path,
                    "--subscriptions", PC / "subscriptions_contoso.json", "--partner-id", "1", "--partner-type", "direct_bill")
        assert wrong.returncode == 2 and f"a Partner Center {kind} export, not customers" in wrong.stderr

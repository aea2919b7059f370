"""SPEC §6's command line, end to end on the committed sample."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from auditlib.findings import FINDING_COLUMNS
from auditlib import VERDICT_COLUMNS

from conftest import ROOT

SAMPLE = ROOT / "data" / "sample"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditlib", *args], capture_output=True, text=True, cwd=ROOT)


def sample_messages() -> list[str]:
    return sorted(str(p) for p in SAMPLE.glob("messages.*"))


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_audit_sample(tmp_path, suffix):
    out = tmp_path / f"verdicts{suffix}"
    done = run("audit", *sample_messages(), "--registry", str(SAMPLE / "registry"), "--output", str(out))
    assert done.returncode == 0, done.stderr
    verdicts = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    read = sum(len(pd.read_csv(p)) if p.endswith(".csv") else len(pd.read_parquet(p)) for p in sample_messages())
    assert len(verdicts) == read
    assert tuple(verdicts.columns) == VERDICT_COLUMNS + FINDING_COLUMNS
    assert set(verdicts["verdict"]) <= {"allowed", "violation", "needs_review", "out_of_scope"}
    assert f"{read} rows read, {read} verdicts" in done.stderr
    assert (verdicts["verdict"] == "violation").sum() > 0


def test_csv_output_times_are_utc_iso(tmp_path):
    out = tmp_path / "v.csv"
    assert run("audit", *sample_messages(), "--registry", str(SAMPLE / "registry"), "--output", str(out)).returncode == 0
    assert pd.read_csv(out)["sent_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()


def test_unknown_output_suffix_is_refused(tmp_path):
    done = run("audit", *sample_messages(), "--registry", str(SAMPLE / "registry"), "--output", str(tmp_path / "v.xlsx"))
    assert done.returncode == 2 and "output must end with" in done.stderr


def test_help_documents_the_command():
    done = run("audit", "--help")
    assert done.returncode == 0
    for words in ("MESSAGES", "--registry", "--output", ".csv", ".parquet"):
        assert words in done.stdout

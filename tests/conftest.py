from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import auditlib

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL = ROOT.parent / "shared" / "real"


@pytest.fixture(scope="session")
def registry() -> auditlib.Registry:
    """The hand-written registry of tests/fixtures/registry (see its agreements.csv)."""
    return auditlib.read_registry(FIXTURES / "registry")


def messages(*rows: dict) -> pd.DataFrame:
    """A canonical message frame from partial rows; unspecified columns are empty."""
    defaults = {"message_id": None, "sent_at": "2025-04-01T12:00:00Z", "sender_address": "billing@microsoft.com",
                "recipient_address": "admin@csp.example", "subject": "", "body": None}
    filled = [{**defaults, "message_id": f"m{i}", **row} for i, row in enumerate(rows)]
    return pd.DataFrame(filled)


@pytest.fixture
def audit_rows(registry):
    """Audit partial rows against the fixture registry; returns the verdict frame."""
    return lambda *rows: auditlib.audit(messages(*rows), registry)


def one_error_line(result) -> str:
    """The one ``auditlib: error:`` line (exit 2) a command ends with on unusable input or output."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("auditlib: error: "), result.output
    return lines[0]

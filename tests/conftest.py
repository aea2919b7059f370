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


def one_customer_each(folder: Path, partners: tuple[str, ...]) -> Path:
    """A registry folder: direct-bill partners ``P`` with one customer ``CP`` each (domain
    ``cp.example``), the partner of record since 2025-01-01 for every product."""
    folder.mkdir()
    (folder / "partners.csv").write_text("partner_id,partner_name,partner_type,parent_partner_id,sender_domains\n"
                                         + "".join(f"{p},{p} Ltd,direct_bill,,{p.lower()}.example\n" for p in partners))
    (folder / "customers.csv").write_text("customer_id,customer_name,cloud,domains\n"
                                          + "".join(f"C{p},Customer {p},commercial,c{p.lower()}.example\n" for p in partners))
    (folder / "agreements.csv").write_text("customer_id,channel,partner_id,products,start_date,end_date\n"
                                           + "".join(f"C{p},csp,{p},*,2025-01-01,\n" for p in partners))
    return folder


@pytest.fixture(scope="session")
def cluster():
    """A local Dask cluster of two worker processes, one thread each (shared by the tests that need one)."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local.scheduler_address

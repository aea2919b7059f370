"""Unusable input stops with one line naming file, row and column — one case per validation rule."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import auditlib
from auditlib import InputError

from conftest import FIXTURES

HEADER = "message_id,sent_at,sender_address,recipient_address,subject\n"
GOOD = "m1,2025-04-01T10:00:00Z,billing@microsoft.com,a@csp.example,Your invoice is ready\n"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize(
    "text,row,column,words",
    [
        ("message_id,sent_at,sender_address,recipient_address\n" + GOOD.rsplit(",", 1)[0] + "\n", None, None, "subject"),
        (HEADER + GOOD + "m2,not-a-date,billing@microsoft.com,a@csp.example,x\n", 2, "sent_at", "ISO 8601"),
        (HEADER + GOOD + ",2025-04-01T10:00:00Z,billing@microsoft.com,a@csp.example,x\n", 2, "message_id", "empty"),
        (HEADER + GOOD + "m2,2025-04-01T10:00:00Z,Microsoft Billing,a@csp.example,x\n", 2, "sender_address", "e-mail"),
        (HEADER + GOOD + "m2,2025-04-01T10:00:00Z,billing@microsoft.com,,x\n", 2, "recipient_address", ""),
        (HEADER.strip() + ",source\n" + GOOD.strip() + ",fax\n", 1, "source", "fax"),
        (HEADER.strip() + ",category\n" + GOOD.strip() + ",gossip\n", 1, "category", "gossip"),
        (HEADER.strip() + ",product\n" + GOOD.strip() + ",xbox\n", 1, "product", "xbox"),
        (HEADER.strip() + ",sender_authenticated\n" + GOOD.strip() + ",maybe\n", 1, "sender_authenticated", "maybe"),
        (HEADER + GOOD + "m2,9999-12-31T00:00:00Z,billing@microsoft.com,a@csp.example,x\n", 2, "sent_at", "out of range"),
        (HEADER + GOOD + "m2,1969-12-31T23:59:59Z,billing@microsoft.com,a@csp.example,x\n", 2, "sent_at", "out of range"),
    ],
    ids=["missing column", "bad time", "empty id", "bad sender", "empty recipient", "unknown source",
         "unknown category", "unknown product", "bad authentication", "year 9999", "before 1970"],
)
def test_bad_message_rows(tmp_path, text, row, column, words):
    path = write(tmp_path / "messages.csv", text)
    with pytest.raises(InputError) as caught:
        auditlib.read_messages(path)
    err = caught.value
    assert err.file == str(path) and err.row == row and err.column == column
    assert words in str(err)


def test_a_conflicting_duplicate_across_files_rejects_both_naming_the_other(tmp_path):
    first = write(tmp_path / "a.csv", HEADER + GOOD)
    second = write(tmp_path / "b.csv", HEADER + "m9,2025-04-01T10:00:00Z,x@microsoft.com,z@csp.example,x\n"
                   "m1,2025-04-02T10:00:00Z,billing@microsoft.com,A@CSP.EXAMPLE,Other subject\n")
    log = auditlib.read_log([first, second])
    assert list(log.messages["message_id"]) == ["m9"]
    assert log.rejected[["file", "record", "reason"]].values.tolist() == [
        [str(first), 1, f"same message_id and recipient_address as {second} record 2, with different content"],
        [str(second), 2, f"same message_id and recipient_address as {first} record 1, with different content"],
    ]
    assert log.rows_read == 3 and log.duplicates == 0


@pytest.mark.parametrize(
    "content,words",
    [(b"", "empty file"), (HEADER.encode() + b"m1,2025-04-01,a@b.c,d@e.f,caf\xe9\n", "UTF-8")],
    ids=["empty", "not utf-8"],
)
def test_unreadable_files(tmp_path, content, words):
    path = tmp_path / "messages.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=words):
        auditlib.read_messages(path)


def test_unknown_format(tmp_path):
    with pytest.raises(InputError, match="unrecognised"):
        auditlib.read_messages(write(tmp_path / "messages.txt", "hello"))


def broken_registry(tmp_path: Path, name: str, old: str, new: str) -> Path:
    folder = tmp_path / "registry"
    shutil.copytree(FIXTURES / "registry", folder)
    path = folder / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return folder


@pytest.mark.parametrize(
    "name,old,new,row,column,words",
    [
        ("agreements.csv", "C-DIRECT,mca", "C-DIRECT,reseller", 9, "channel", "reseller"),
        ("agreements.csv", "2024-01-01,2025-01-01", "2025-01-01,2024-01-01", 7, "end_date", "not after"),
        ("agreements.csv", "C-ID,csp", "C-NOBODY,csp", 10, "customer_id", "unknown customer"),
        ("agreements.csv", "C-ID,csp,P-OTHER", "C-ID,csp,P-NOBODY", 10, "partner_id", "unknown partner"),
        ("agreements.csv", "C-ID,csp,P-OTHER", "C-ID,csp,", 10, "partner_id", "partner of record"),
        ("agreements.csv", "C-DIRECT,mca,,*,2020-01-01", "C-DIRECT,mca,,*,01/02/2020", 9, "start_date", "not a date"),
        ("agreements.csv", "C-DIRECT,mca,,*", "C-DIRECT,mca,,xbox", 9, "products", "families"),
        ("partners.csv", "P-DIR,Direct Bill Inc,direct_bill", "P-DIR,Direct Bill Inc,distributor", 3, "partner_type", "distributor"),
        ("partners.csv", "indirect_reseller,P-PROV", "indirect_reseller,P-GONE", 2, "parent_partner_id", "unknown partner"),
        ("customers.csv", "C-MOVE,Agency,usgov", "C-MOVE,Agency,govcloud", 3, "cloud", "govcloud"),
        ("customers.csv", "switch.example", "csp.example", 4, "domains", "more than one"),
        ("customers.csv", "C-ID,Id Only", "C-CSP,Id Only", 6, "customer_id", "more than once"),
    ],
    ids=["unknown channel", "end before start", "unknown customer", "unknown partner", "csp without partner",
         "bad date", "unknown product", "unknown partner type", "unknown parent", "unknown cloud",
         "domain of two customers", "duplicate customer"],
)
def test_bad_registry(tmp_path, name, old, new, row, column, words):
    folder = broken_registry(tmp_path, name, old, new)
    with pytest.raises(InputError) as caught:
        auditlib.read_registry(folder)
    err = caught.value
    assert Path(err.file).name == name and err.row == row and err.column == column
    assert words in str(err)


def test_missing_registry_file(tmp_path):
    folder = broken_registry(tmp_path, "partners.csv", "P-DIR", "P-DIR")
    (folder / "customers.csv").unlink()
    with pytest.raises(InputError, match="registry file missing"):
        auditlib.read_registry(folder)


def test_cli_reports_one_line_and_exit_2(tmp_path):
    path = write(tmp_path / "messages.csv", HEADER + "m1,yesterday,billing@microsoft.com,a@csp.example,x\n")
    done = subprocess.run(
        [sys.executable, "-m", "auditlib", "audit", str(path), "--registry", str(FIXTURES / "registry"),
         "--output", str(tmp_path / "out.csv")],
        capture_output=True, text=True,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert str(path) in lines[0] and "row 1" in lines[0] and "column sent_at" in lines[0]
    assert not (tmp_path / "out.csv").exists()


def test_patterns_checked_by_arrow_mean_what_python_re_means():
    """Validation runs Arrow's regex kernel on ASCII values: on every short string over a tricky
    alphabet (blanks Python calls whitespace, separators, a final newline, non-ASCII) each schema
    pattern accepts exactly what ``re.match`` accepts."""
    import itertools
    import re

    import pandas as pd

    from auditlib import load_policy
    from auditlib.schema import ADDRESS_PATTERN, _DOMAIN_LIST, _matches

    families = "|".join(load_policy().products)
    patterns = [r"\s*\S", ADDRESS_PATTERN, _DOMAIN_LIST, rf"^\s*(\*|({families})(\s*;\s*({families}))*)\s*;?\s*$"]
    alphabet = ["a", "@", " ", "\t", "\x0b", "\x1c", "\n", ";", ".", "-", "[", ",", "_", "*", "azure", "é", "\u00a0", "b.c"]
    values = ["".join(p) for n in range(4) for p in itertools.product(alphabet, repeat=n)]
    for pattern in patterns:
        checked = _matches(pattern)._check_fn(pd.Series(values, dtype="str")).tolist()
        assert checked == [re.compile(pattern).match(v) is not None for v in values], pattern

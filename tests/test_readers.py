"""The canonical message log reads the same from CSV (with or without BOM), Parquet and JSON Lines."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import auditlib
from auditlib import InputError

ROWS = [
    {"message_id": "m1", "sent_at": "2025-04-01T10:00:00+08:00", "sender_address": "billing@microsoft.com",
     "recipient_address": "a@csp.example", "subject": "您的订阅即将到期", "body": "第一行\n第二行, \"引号\"",
     "customer_id": "", "source": "email", "category": "", "product": "", "language": "zh-CN"},
    {"message_id": "m2", "sent_at": "2025-04-01T10:00:00", "sender_address": "x@reseller.example",
     "recipient_address": "b@csp.example", "subject": "", "body": "", "customer_id": "C-CSP",
     "source": "", "category": "incident", "product": "azure", "language": ""},
]


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype({c: "object" for c in frame.columns if c != "sent_at"})


@pytest.fixture
def expected(tmp_path):
    path = tmp_path / "plain.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    return canonical(auditlib.read_messages(path))


def test_csv_values(expected):
    assert list(expected["sent_at"].astype(str)) == ["2025-04-01 02:00:00+00:00", "2025-04-01 10:00:00+00:00"]
    assert expected["body"][0] == "第一行\n第二行, \"引号\""
    assert expected["subject"][1] == ""
    assert pd.isna(expected["customer_id"][0]) and expected["customer_id"][1] == "C-CSP"
    assert pd.isna(expected["source"][1]) and expected["category"][1] == "incident"


def test_csv_with_bom(tmp_path, expected):
    path = tmp_path / "bom.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False, encoding="utf-8-sig")
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    pd.testing.assert_frame_equal(canonical(auditlib.read_messages(path)), expected)


def test_parquet_with_typed_timestamps(tmp_path, expected):
    frame = pd.DataFrame(ROWS)
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], format="ISO8601", utc=True)
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    pd.testing.assert_frame_equal(canonical(auditlib.read_messages(path)), expected)


def test_jsonl_with_numbers_and_missing_fields(tmp_path, expected):
    path = tmp_path / "log.jsonl"
    lines = [{k: v for k, v in row.items() if v != ""} for row in ROWS]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    pd.testing.assert_frame_equal(canonical(auditlib.read_messages(path)), expected)
    numeric = tmp_path / "numeric.jsonl"
    numeric.write_text(json.dumps({**lines[1], "message_id": 42}) + "\n")
    assert auditlib.read_messages(numeric)["message_id"][0] == "42"


def test_invalid_json_line_is_located(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n{not json\n")
    with pytest.raises(InputError) as caught:
        auditlib.read_messages(path)
    assert caught.value.row == 2


def test_several_files_in_one_run(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.jsonl"
    pd.DataFrame(ROWS[:1]).to_csv(a, index=False)
    b.write_text(json.dumps(ROWS[1]) + "\n")
    assert list(auditlib.read_messages([a, b])["message_id"]) == ["m1", "m2"]

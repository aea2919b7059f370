"""Properties of the readers and the decision (Hypothesis): arbitrary text in every text column,
any time zone, any row order and any split into files give the same verdicts, one per row."""
from __future__ import annotations

import csv
import json
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings, strategies as st

import auditlib
from auditlib.decide import VERDICTS

from conftest import FIXTURES

REGISTRY = FIXTURES / "registry"
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = ["message_id", "recipient_address"]

# every kind of domain the fixture registry resolves: CSP customers (and a subdomain), a direct one,
# partners of record and not, Microsoft (and a subdomain), a look-alike, nobody
DOMAINS = ("csp.example", "dual.example", "mail.move.example", "switch.example", "direct.example", "reseller.example",
           "provider.example", "other.example", "microsoft.com", "email.microsoft.com", "microsoft.com.evil.example",
           "nowhere.example")
SUBJECTS = ("Your invoice is ready", "Service incident: users may be unable to sign in", "Register for Microsoft Ignite",
            "您的订阅即将到期", "Azure: your payment method", "")

text = st.text(max_size=30)  # any code point but surrogates: NUL, newlines, quotes, markup, RTL marks
local_part = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="@[],;"),
                     min_size=1, max_size=8)
address = st.builds(lambda local, domain: f"{local}@{domain}", local_part, st.sampled_from(DOMAINS))
instant = st.datetimes(min_value=datetime(2023, 6, 1), max_value=datetime(2026, 6, 1), timezones=st.timezones())
row = st.fixed_dictionaries({
    "message_id": st.text(min_size=1, max_size=12).filter(str.strip),
    "sent_at": instant,
    "sender_address": address,
    "recipient_address": address,
    "subject": st.one_of(st.sampled_from(SUBJECTS), text, st.builds(str.__add__, st.sampled_from(SUBJECTS), text)),
    "body": st.one_of(st.none(), text),
    "customer_id": st.one_of(st.none(), st.sampled_from(["C-CSP", "C-ID", "C-DUAL"]), text),
    "source": st.one_of(st.none(), st.sampled_from(["email", "message_center", "Portal"])),
    "category": st.one_of(st.none(), st.sampled_from(["subscription", "marketing", "incident", "stayInformed"])),
    "product": st.one_of(st.none(), st.sampled_from(["azure", "microsoft-365", "unknown"])),
    "language": st.one_of(st.none(), text),
})
logs = st.lists(row, min_size=1, max_size=12, unique_by=lambda r: (r["message_id"], r["recipient_address"].lower()))


def frame(rows: list[dict], tz: str | None = None) -> pd.DataFrame:
    """Rows as a canonical log of text; ``sent_at`` in ISO 8601 with its own offset, or converted to ``tz``."""
    return pd.DataFrame([{**r, "sent_at": (pd.Timestamp(r["sent_at"]).tz_convert(tz) if tz else r["sent_at"]).isoformat()}
                         for r in rows])


def by_key(verdicts: pd.DataFrame) -> pd.DataFrame:
    return verdicts.astype({c: "str" for c in verdicts.columns if c != "sent_at"}).sort_values(KEY).reset_index(drop=True)


def write_jsonl(rows: pd.DataFrame, path: Path) -> None:
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


@SETTINGS
@given(logs)
def test_csv_jsonl_and_parquet_read_the_same(rows):
    log = frame(rows)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        log.to_csv(folder / "log.csv", index=False, quoting=csv.QUOTE_ALL)  # pandas leaves a lone "\r" unquoted
        write_jsonl(log, folder / "log.jsonl")
        log.to_parquet(folder / "log.parquet")
        read = [auditlib.read_messages(folder / f"log.{suffix}") for suffix in ("csv", "jsonl", "parquet")]
    for other in read[1:]:
        pd.testing.assert_frame_equal(other, read[0])
    assert read[0]["message_id"].tolist() == log["message_id"].tolist()
    assert read[0]["subject"].tolist() == log["subject"].tolist()
    assert (read[0]["sent_at"] == pd.to_datetime([r["sent_at"] for r in rows], utc=True)).all()


@SETTINGS
@given(logs, st.timezones(), st.randoms(use_true_random=False))
def test_every_row_gets_one_verdict_whatever_the_zone_order_or_files(rows, zone, random):
    registry = auditlib.read_registry(REGISTRY)
    verdicts = auditlib.audit(frame(rows), registry)
    assert len(verdicts) == len(rows)
    assert sorted(zip(verdicts["message_id"], verdicts["recipient_address"])) == sorted(
        (r["message_id"], r["recipient_address"]) for r in rows)
    assert verdicts["verdict"].notna().all() and set(verdicts["verdict"]) <= set(VERDICTS)
    expected = by_key(verdicts)

    pd.testing.assert_frame_equal(by_key(auditlib.audit(frame(rows), registry)), expected)  # deterministic
    pd.testing.assert_frame_equal(by_key(auditlib.audit(frame(rows, str(zone)), registry)), expected)  # another zone
    shuffled = rows[:]
    random.shuffle(shuffled)
    pd.testing.assert_frame_equal(by_key(auditlib.audit(frame(shuffled), registry)), expected)
    cut = random.randint(1, len(shuffled))  # split in two files of two formats (the second may be absent)
    with tempfile.TemporaryDirectory() as folder:
        parts = [Path(folder) / "a.csv", Path(folder) / "b.jsonl"][:1 + (cut < len(shuffled))]
        frame(shuffled[:cut]).to_csv(parts[0], index=False, quoting=csv.QUOTE_ALL)
        if len(parts) == 2:
            write_jsonl(frame(shuffled[cut:]), parts[1])
        run = auditlib.run_audit(parts, REGISTRY)
    assert run.rows_read == len(rows) and run.rejected.empty and run.duplicates == 0
    pd.testing.assert_frame_equal(by_key(run.verdicts), expected)

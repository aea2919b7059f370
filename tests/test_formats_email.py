"""E-mail files: .eml, folders of them, and mbox; expected values read off the fixtures by hand."""
from pathlib import Path

import pandas as pd
import pytest

from auditlib.io.formats.email_files import html_to_text, looks_like_message
from auditlib.readers import read_log

EMAIL = Path(__file__).parent / "fixtures" / "formats" / "email"
REAL_EMAIL = Path(__file__).resolve().parents[2] / "shared" / "real" / "email"


def test_every_to_and_cc_recipient_is_a_row_and_the_date_is_utc():
    m = read_log(EMAIL / "multi_recipient.eml").messages
    # alice appears in To and (differently cased) in Cc: one row
    assert m["recipient_address"].tolist() == ["alice@contoso.com", "bob@contoso.com", "CAROL@fabrikam.com"]
    assert set(m["sender_address"]) == {"billing@microsoft.com"}  # the address, not "Microsoft Billing"
    assert set(m["sent_at"]) == {pd.Timestamp("2023-11-20 09:30", tz="UTC")}  # 17:30 +0800
    assert set(m["subject"]) == {"Your invoice is ready – November"}  # RFC 2047 Q-encoded UTF-8
    assert set(m["body"]) == {"Your invoice for November is ready."}  # text/plain preferred over HTML
    assert set(m["message_id"]) == {"<multi-1@microsoft.com>"}


def test_html_only_latin1_message_without_message_id():
    m = read_log(EMAIL / "html_latin1.eml").messages
    assert m["subject"].tolist() == ["您的订阅即将到期"]  # gb2312 B-encoded
    assert m["body"].tolist() == ["Café & crème\nLine two"]  # style, title and script dropped
    assert m["sent_at"].tolist() == [pd.Timestamp("2023-11-21 08:00", tz="UTC")]  # -0000 is UTC
    generated = m["message_id"].iloc[0]
    assert generated.startswith("<") and generated.endswith("@auditlib.invalid>")
    assert read_log(EMAIL / "html_latin1.eml").messages["message_id"].iloc[0] == generated  # stable


def test_unknown_charset_and_raw_8bit_header():
    m = read_log(EMAIL / "unknown_charset.eml").messages
    assert m["subject"].tolist() == ["Grüße aus Redmond"]
    assert m["body"].tolist() == ["Grüße, Ihr Partner\n"]


@pytest.mark.parametrize("name, reasons", [
    ("no_from.eml", [("frank@contoso.com", "no From address")]),
    ("no_recipient.eml", [(None, "no To or Cc recipient address")]),
    ("no_date.eml", [("gina@fabrikam.com", "no Date header"), ("hank@fabrikam.com", "no Date header")]),
    ("bad_date.eml", [("ivan@fabrikam.com", "Date 'Fri, 32 Nov 2023 10:00:00 +0000' is not a date and time")]),
])
def test_unusable_messages_are_rejected_with_their_reason(name, reasons):
    log = read_log(EMAIL / name)
    assert len(log.messages) == 0
    got = [(None if pd.isna(r) else r, why) for r, why in zip(log.rejected["recipient_address"], log.rejected["reason"])]
    assert got == reasons


def test_mbox_numbers_messages_and_rejects_a_repeat():
    log = read_log(EMAIL / "mixed.mbox")
    assert log.messages[["message_id", "recipient_address"]].values.tolist() == [["<mb-1@partnerone.com>", "alice@contoso.com"]]
    assert log.messages["sent_at"].tolist() == [pd.Timestamp("2023-11-24 08:00", tz="UTC")]
    assert log.rejected[["record", "reason"]].values.tolist() == [
        [2, "no Date header"], [3, "repeats the message and recipient of record 1"]]


def test_a_folder_of_email_files_rows_in_equal_rows_out_plus_rejected():
    log = read_log(EMAIL)
    # kept: multi_recipient 3, html_latin1 1, unknown_charset 1, mixed.mbox 1
    assert len(log.messages) == 6
    # rejected: bad_date 1, mixed.mbox 2, no_date 2, no_from 1, no_recipient 1
    assert len(log.rejected) == 7
    assert sorted(set(log.rejected["record"])) == [
        "bad_date.eml:1", "mixed.mbox:2", "mixed.mbox:3", "no_date.eml:1", "no_from.eml:1", "no_recipient.eml:1"]


def test_sniffer_and_html_helper():
    assert looks_like_message(b"Received: from x\n\tby y\nFrom: a@b.c\nSubject: s\n\nbody")
    assert not looks_like_message(b"message_id,sent_at,sender_address\n")
    assert not looks_like_message(b'{"From": "a@b.c"}')
    assert html_to_text("<div>a&nbsp;&lt;b&gt;</div><ul><li>one</li><li>two</li></ul>") == "a <b>\none\ntwo"


@pytest.mark.skipif(not REAL_EMAIL.is_dir(), reason="real e-mail files (../shared/real) not present")
def test_real_email_files():
    log = read_log(REAL_EMAIL)
    m = log.messages.set_index("message_id")
    assert len(m) == 4
    assert m.loc["<15265.9482.641338.555352@python.org>", "sent_at"] == pd.Timestamp("2001-09-13 21:28:42", tz="UTC")
    assert m.loc["<0GK500B04D0B8X@cougar.noc.ucla.edu>", "recipient_address"] == "scr-admin@socal-raves.org"
    assert m.loc["<15261.36209.358846.118674@anthem.python.org>", "body"] == "a simple kind of mirror\nto reflect upon our own\n"
    # msg_10 has no Message-ID: a generated one; its body is the first text/plain part
    generated = m[m["subject"] == "Lyrics"]
    assert generated.index[0].endswith("@auditlib.invalid>") and generated["body"].iloc[0] == "This is a 7bit encoded message.\n"
    reasons = dict(zip(log.rejected["record"], log.rejected["reason"]))
    assert reasons == {
        # the unescaped "From " line in the body starts a second (headerless) mbox message
        "mailbox_01.mbox:1": "From 'foo' has no address",
        "mailbox_01.mbox:2": "no From address",
        "msg_15.txt:1": "no To or Cc recipient address",  # To: XX
        "msg_35.txt:1": "no Date header",
        "msg_47.txt:1": "Date 'Tue, 06 Jun 2017 27:39:33 +0600' is not a date and time",
        "msg_48.txt:1": "no Date header",
    }
    assert log.rows_read == 10

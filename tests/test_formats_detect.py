"""Format detection by content first, suffix as tie-break and fallback; reader options; folders."""
from pathlib import Path

import pytest

from auditlib.errors import InputError
from auditlib.readers import detect_format, read_log

FIXTURES = Path(__file__).parent / "fixtures" / "formats"


@pytest.mark.parametrize("relative, name", [
    ("exchange/message_trace.csv", "exchange-message-trace"),
    ("exchange/historical_search_utf16.csv", "exchange-historical-search"),
    ("exchange/historical_extended.csv", "exchange-historical-search"),
    ("exchange/historical_origin_timestamp.csv", "exchange-historical-search"),
    ("exchange/graph_message_trace.json", "graph-message-trace"),
    ("graph/message_center_page.json", "graph-message-center"),
    ("graph/MC900004.json", "graph-message-center"),
    ("graph/service_health.json", "graph-service-health"),
    ("email/multi_recipient.eml", "eml"),
    ("email/mixed.mbox", "mbox"),
    ("registry/customers.csv", "csv"),  # a .csv that is no export stays the canonical CSV
])
def test_each_fixture_is_detected_as_its_format(relative, name):
    assert detect_format(FIXTURES / relative).name == name


def test_content_decides_when_the_suffix_says_nothing(tmp_path):
    message = tmp_path / "message.txt"
    message.write_bytes((FIXTURES / "email" / "multi_recipient.eml").read_bytes())
    trace = tmp_path / "trace.export"
    trace.write_bytes((FIXTURES / "exchange" / "message_trace.csv").read_bytes())
    assert detect_format(message).name == "eml"
    assert detect_format(trace).name == "exchange-message-trace"


def test_a_canonical_jsonl_file_named_json_is_still_json_lines(tmp_path):
    path = tmp_path / "log.json"
    path.write_text('{"message_id": "m1", "sent_at": "2024-01-01T00:00:00Z", "sender_address": "a@b.com", '
                    '"recipient_address": "c@d.com", "subject": "hi"}\n')
    assert detect_format(path).name == "jsonl"


def test_an_unrecognised_file_is_an_error_naming_it_and_what_it_looks_like(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\n")
    assert detect_format(path).name == "unrecognised"  # telling a format never fails; reading it does
    with pytest.raises(InputError, match="notes.txt: unrecognised message log format: text starting 'just some notes'"):
        read_log(path)


def test_a_folder_skips_hidden_files_and_numbers_records_by_file(tmp_path):
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x01binary")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.eml").write_bytes((FIXTURES / "email" / "no_from.eml").read_bytes())
    (tmp_path / "b.eml").write_bytes((FIXTURES / "email" / "html_latin1.eml").read_bytes())
    log = read_log(tmp_path)
    assert log.messages["recipient_address"].tolist() == ["dave@contoso.com"]
    assert log.rejected["record"].tolist() == ["sub/a.eml:1"]
    assert log.rejected["file"].tolist() == [str(tmp_path)]


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(InputError, match="holds no files"):
        read_log(tmp_path)


def test_options_reach_only_the_readers_that_take_them():
    # customer_ids means nothing to an Exchange trace: it is not passed, and the rows have no customer
    log = read_log(FIXTURES / "exchange" / "graph_message_trace.json", options={"customer_ids": ["c-contoso"]})
    assert log.messages["customer_id"].isna().all()

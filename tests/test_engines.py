"""Engines give the verdicts of the in-memory audit, row for row: in batches, and on a Dask cluster."""
from __future__ import annotations

import subprocess
from dataclasses import replace
import sys

import pandas as pd
import pytest

from auditlib.findings import FINDING_COLUMNS
from auditlib import InputError, VERDICT_COLUMNS, load_policy
from auditlib.engines import AuditJob, run_engine

from conftest import ROOT

SAMPLE = ROOT / "data" / "sample"
KEY = ["message_id", "recipient_address"]


def sample_rows() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "messages.csv", dtype=str, keep_default_na=False)


def job(tmp_path, messages, output: str, **options) -> AuditJob:
    paths = tuple(messages) if isinstance(messages, (list, tuple)) else (messages,)
    return AuditJob(paths, SAMPLE / "registry", tmp_path / output, load_policy(), **options)


def verdicts(path) -> pd.DataFrame:
    """An output (file or folder of Parquet) as text, sorted by key: comparable whatever wrote it."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False) if str(path).endswith(".csv") else pd.read_parquet(path)
    if not str(path).endswith(".csv"):
        frame = frame.assign(sent_at=frame["sent_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).astype("str").fillna("")
    return frame.sort_values(KEY, kind="stable").reset_index(drop=True)


def rejected(outcome) -> pd.DataFrame:
    return outcome.rejected.astype("str").sort_values(["file", "record"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """The in-memory audit of the sample (SPEC §6's command line): the reference."""
    out = tmp_path_factory.mktemp("whole")
    outcome = run_engine("pandas", AuditJob((SAMPLE / "messages.csv",), SAMPLE / "registry", out / "v.csv", load_policy()))
    return verdicts(out / "v.csv"), outcome


@pytest.fixture(scope="module")
def sample_parquet(tmp_path_factory):
    """The sample as one Parquet file of several row groups, and as a dataset folder of two files."""
    folder = tmp_path_factory.mktemp("parquet")
    rows = sample_rows()
    rows.to_parquet(folder / "messages.parquet", row_group_size=700)
    (folder / "dataset").mkdir()
    rows.iloc[:1234].to_parquet(folder / "dataset" / "part-0.parquet")
    rows.iloc[1234:].to_parquet(folder / "dataset" / "part-1.parquet")
    return folder


@pytest.mark.parametrize("source, output, batch_rows", [
    ("csv", "v.csv", 700),
    ("parquet", "v.parquet", 512),
    ("dataset", "v.csv", None),  # a folder of Parquet files is always batched
])
def test_batches_give_the_whole_audit(tmp_path, whole, sample_parquet, source, output, batch_rows):
    messages = {"csv": SAMPLE / "messages.csv", "parquet": sample_parquet / "messages.parquet",
                "dataset": sample_parquet / "dataset"}[source]
    outcome = run_engine("pandas", job(tmp_path, messages, output, batch_rows=batch_rows))
    expected, reference = whole
    pd.testing.assert_frame_equal(verdicts(tmp_path / output), expected)
    assert outcome.counts.to_dict() == reference.counts.to_dict()
    assert outcome.rows_read == reference.rows_read == len(expected)


def test_dask_gives_the_pandas_verdicts_row_for_row(tmp_path, whole, cluster):
    outcome = run_engine("dask", job(tmp_path, SAMPLE / "messages.csv", "v.parquet", batch_rows=800, scheduler=cluster))
    expected, reference = whole
    pd.testing.assert_frame_equal(verdicts(tmp_path / "v.parquet"), expected)
    assert outcome.counts.to_dict() == reference.counts.to_dict()
    assert outcome.rows_read == reference.rows_read


def test_dask_cli_writes_partitioned_parquet_from_a_dataset(tmp_path, whole, sample_parquet, cluster):
    done = subprocess.run([sys.executable, "-m", "auditlib", "audit", str(sample_parquet / "dataset"), "--registry",
                           str(SAMPLE / "registry"), "--output", str(tmp_path / "verdicts"), "--engine", "dask",
                           "--scheduler", cluster], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "verdicts").glob("*.parquet"))) >= 2
    expected, reference = whole
    written = verdicts(tmp_path / "verdicts")
    assert tuple(written.columns) == VERDICT_COLUMNS + FINDING_COLUMNS
    pd.testing.assert_frame_equal(written, expected)
    assert f"{reference.rows_read} rows read, {reference.rows_read} verdicts" in done.stderr


@pytest.fixture(scope="module")
def repeats(tmp_path_factory):
    """The sample with keys repeated far apart (so in different batches): an identical copy of
    row 10 at the end, and row 20 again with another subject (a conflict) in the middle."""
    rows = sample_rows()
    conflict = rows.iloc[[20]].assign(subject="Your invoice is ready")
    rows = pd.concat([rows.iloc[:1500], conflict, rows.iloc[1500:], rows.iloc[[10]]], ignore_index=True)
    folder = tmp_path_factory.mktemp("repeats")
    rows.to_csv(folder / "messages.csv", index=False)
    rows.to_parquet(folder / "messages.parquet", row_group_size=600)
    return folder


def test_repeated_keys_are_settled_across_batches_as_in_one_piece(tmp_path, repeats, cluster):
    reference = run_engine("pandas", job(tmp_path, repeats / "messages.csv", "whole.csv"))
    assert reference.duplicates == 1 and len(reference.rejected) == 2
    runs = {
        "batched csv": run_engine("pandas", job(tmp_path, repeats / "messages.csv", "b.csv", batch_rows=500)),
        "batched parquet": run_engine("pandas", job(tmp_path, repeats / "messages.parquet", "p.csv", batch_rows=500)),
        "dask parquet": run_engine("dask", job(tmp_path, repeats / "messages.parquet", "d.csv", scheduler=cluster)),
    }
    for name, output in zip(runs, ("b.csv", "p.csv", "d.csv")):
        outcome = runs[name]
        pd.testing.assert_frame_equal(verdicts(tmp_path / output), verdicts(tmp_path / "whole.csv"), obj=name)
        assert (outcome.rows_read, outcome.duplicates) == (reference.rows_read, reference.duplicates), name
        assert outcome.counts.to_dict() == reference.counts.to_dict(), name
        got = rejected(outcome).apply(lambda column: column.str.replace("messages.parquet", "messages.csv"))
        pd.testing.assert_frame_equal(got, rejected(reference), obj=name)


def test_a_bad_row_in_a_later_batch_is_named_by_its_row_in_the_file(tmp_path):
    rows = sample_rows()
    rows.loc[2345, "sent_at"] = "yesterday"
    rows.to_parquet(tmp_path / "bad.parquet", row_group_size=1000)
    with pytest.raises(InputError) as err:
        run_engine("pandas", job(tmp_path, tmp_path / "bad.parquet", "v.parquet", batch_rows=1000))
    assert (err.value.row, err.value.column) == (2346, "sent_at")
    assert err.value.file == str(tmp_path / "bad.parquet")


@pytest.mark.parametrize("engine, batch_rows", [("pandas", 700), ("dask", 800)])
def test_masked_recipients_are_the_same_in_batches_and_on_dask(tmp_path, engine, batch_rows, cluster):
    key = b"a test key, not a secret"
    run_engine("pandas", job(tmp_path, SAMPLE / "messages.csv", "whole.csv", mask_key=key))
    options = {"scheduler": cluster} if engine == "dask" else {}
    run_engine(engine, job(tmp_path, SAMPLE / "messages.csv", "parts.parquet", mask_key=key, batch_rows=batch_rows, **options))
    masked = verdicts(tmp_path / "whole.csv")
    pd.testing.assert_frame_equal(verdicts(tmp_path / "parts.parquet"), masked)
    addresses = set(sample_rows()["recipient_address"].str.lower())
    assert not addresses & set(masked["recipient_address"].str.lower())


def test_a_parquet_log_over_the_memory_limit_is_streamed_with_the_same_verdicts(tmp_path, whole, sample_parquet):
    from auditlib.engines import MIN_BATCH_ROWS, batch_rows

    streamed = job(tmp_path, sample_parquet / "messages.parquet", "v.parquet", memory_limit=1)
    assert batch_rows(streamed) == MIN_BATCH_ROWS
    assert batch_rows(job(tmp_path, sample_parquet / "messages.parquet", "v.parquet", memory_limit=2**40)) is None
    outcome = run_engine("pandas", streamed)
    expected, reference = whole
    pd.testing.assert_frame_equal(verdicts(tmp_path / "v.parquet"), expected)
    assert outcome.counts.to_dict() == reference.counts.to_dict()


def test_the_memory_limit_on_the_command_line(tmp_path, sample_parquet):
    from auditlib.cli import byte_size

    assert [byte_size(s) for s in ("4G", "500M", "1.5k", "2GiB", "1000")] == [4 * 2**30, 500 * 2**20, 1536, 2 * 2**30, 1000]
    out = tmp_path / "v.csv"
    subprocess.run([sys.executable, "-m", "auditlib.cli", "audit", str(sample_parquet / "messages.parquet"),
                    "--registry", str(SAMPLE / "registry"), "--output", str(out), "--memory-limit", "1K"], check=True)
    assert len(pd.read_csv(out)) == len(sample_rows())


def test_batches_classify_each_distinct_text_once(whole):
    from auditlib.audit import audit_log
    from auditlib.io.log import read_log
    from auditlib.io.registry_files import read_registry
    from auditlib.textcache import TEXT_COLUMNS, DecidedTexts

    policy = load_policy()
    log, registry, texts = read_log(SAMPLE / "messages.csv", policy), read_registry(SAMPLE / "registry", policy), DecidedTexts()
    halves = [log.messages.iloc[:1000], log.messages.iloc[1000:], log.messages.iloc[:500]]
    runs = [audit_log(replace(log, messages=half), registry, policy, texts=texts).verdicts for half in halves]
    assert len(texts) == len(log.messages[TEXT_COLUMNS].drop_duplicates())
    alone = audit_log(log, registry, policy).verdicts
    pd.testing.assert_frame_equal(pd.concat(runs[:2], ignore_index=True).astype("str"), alone.astype("str"))
    pd.testing.assert_frame_equal(runs[2].astype("str"), alone.iloc[:500].astype("str"))


def test_a_worker_keeps_one_runs_decided_texts_and_threads_share_them_safely():
    from concurrent.futures import ThreadPoolExecutor

    from auditlib.classify import classify
    from auditlib.io.log import read_log
    from auditlib.textcache import DECIDED_COLUMNS, TEXT_COLUMNS, of_run

    policy = load_policy()
    messages = read_log(SAMPLE / "messages.csv", policy).messages
    texts = of_run("run-a")
    assert of_run("run-a") is texts
    parts = [messages.iloc[i::4] for i in range(4)] * 2  # every text met by two threads at once
    with ThreadPoolExecutor(4) as pool:
        decided = list(pool.map(lambda part: texts.classify(part, policy), parts))
    assert len(texts) == len(messages[TEXT_COLUMNS].drop_duplicates())  # each text kept once
    direct = classify(messages, policy)
    for part in decided:
        pd.testing.assert_frame_equal(part[DECIDED_COLUMNS].astype("str"), direct.loc[part.index, DECIDED_COLUMNS].astype("str"))
    assert len(of_run("run-b")) == 0 and of_run("run-a") is not texts  # a new run starts afresh

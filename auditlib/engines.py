"""Engines: how an audit is run over its input — in memory, in batches, or on a Dask cluster.

Engines are registered by name, like papermill's: each takes an :class:`AuditJob`, writes
the verdicts to its output and returns an :class:`Outcome`. Every engine runs the same
functions (:func:`auditlib.audit.audit_log` over what the readers made of a batch or
partition, with the registry and policy), so a rule has one implementation wherever it
runs; engines differ only in how rows reach that function and how its output is written.

Repeated (message_id, recipient_address) keys are settled by the readers' ``deduplicate``
over *all* the rows of a key, wherever they are. A batch or partition cannot see the others,
so engines first hash every key (8 bytes a row), and the rows whose key occurs more than once
(rare) are held back from their batch and settled together at the end. A hash only picks
candidates; ``deduplicate`` compares the keys themselves, so a hash collision costs nothing.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from .audit import AuditRun, audit_log, run_audit
from .decide import VERDICTS
from .errors import InputError, collect_input_warnings
from .policy import Policy
from .io.log import (
    RECORD, REJECTED_COLUMNS, MessageLog, deduplicate, detect_format, folder_files, message_keys, message_log,
    read_log, read_message_file,
)
from .io.registry_files import read_registry
from .registry import Registry
from .schema import MESSAGE_COLUMNS
from .textcache import DecidedTexts, of_run
from .io.decisions import Decisions
from .io.manifest import account_of, new_run_id
from .review_decisions import matched_ids
from .io.tables import PieceWriter, plain_columns, write_table

DEFAULT_BATCH_ROWS = 500_000
MIN_BATCH_ROWS = 10_000
# Resident bytes of an in-memory audit per uncompressed byte of Parquet log (measured: 1M generated
# rows, 325 MiB uncompressed, peak 1.9 GB), and the share of available memory it may use by default.
MEMORY_PER_PARQUET_BYTE = 6
DEFAULT_MEMORY_SHARE = 0.5


@dataclass(frozen=True)
class AuditJob:
    """What to audit and where to write it: the CLI's ``audit`` arguments."""

    messages: tuple[Path, ...]
    registry_dir: Path
    output: Path
    policy: Policy
    evidence: bool = False
    progress: bool = False
    reader_options: Mapping[str, object] = field(default_factory=dict)
    strict: bool = False
    mask_key: bytes | None = None
    batch_rows: int | None = None  # rows per batch (pandas) or per partition of non-Parquet input (dask)
    memory_limit: int | None = None  # bytes an in-memory audit may use; None: a share of available memory
    scheduler: str | None = None  # a Dask scheduler's address; None: a local cluster
    decisions: Decisions | None = None  # review decisions shown on the rows they name (--decisions)
    run_id: str = field(default_factory=new_run_id)  # stamped into the output and its manifest


@dataclass(frozen=True)
class Outcome:
    """What an engine did, as :class:`~auditlib.audit.AuditRun` says it but with the verdicts
    counted instead of held (they are in the output): rows read = verdicts + rejected + removed copies."""

    counts: pd.Series  # rows per verdict, every value of decide.VERDICTS in order
    rejected: pd.DataFrame
    rows_read: int
    duplicates: int = 0
    warnings: tuple[str, ...] = ()
    matched: frozenset[str] = frozenset()  # ids of review decisions that named a verdict row

    @property
    def verdicts(self) -> int:
        return int(self.counts.sum())


Engine = Callable[[AuditJob], Outcome]
ENGINES: dict[str, Engine] = {}


def register_engine(name: str) -> Callable[[Engine], Engine]:
    def decorate(engine: Engine) -> Engine:
        ENGINES[name] = engine
        return engine

    return decorate


def run_engine(name: str, job: AuditJob) -> Outcome:
    """Run ``job`` with the engine registered as ``name``."""
    if name not in ENGINES:
        raise InputError("(command line)", f"unknown engine {name!r} (known: {', '.join(sorted(ENGINES))})")
    return ENGINES[name](job)


def verdict_counts(verdicts: pd.Series) -> pd.Series:
    """Rows per verdict value, every value present, in decide.VERDICTS order (counted on the
    categorical's codes: no text per row)."""
    return verdicts.value_counts(sort=False).reindex(list(VERDICTS), fill_value=0).astype("int64")


def outcome(runs: Iterable[AuditRun | Outcome], warnings: tuple[str, ...] = ()) -> Outcome:
    """The sum of the runs of an input's batches (each run's verdicts already written)."""
    counts, rejected, read, removed, said = verdict_counts(pd.Series([], dtype="str")), [], 0, 0, list(warnings)
    matched = frozenset()
    for run in runs:
        counts += run.counts if isinstance(run, Outcome) else verdict_counts(run.verdicts["verdict"])
        rejected.append(run.rejected)
        read, removed, said = read + run.rows_read, removed + run.duplicates, said + list(run.warnings)
        matched |= run.matched
    rejected = [r for r in rejected if len(r)]
    rejected = pd.concat(rejected, ignore_index=True) if rejected else pd.DataFrame(columns=list(REJECTED_COLUMNS))
    return Outcome(counts, rejected, read, removed, tuple(said), matched)


def stamp(job: AuditJob, result: Outcome) -> dict:
    """What a verdicts file says about the run that wrote it (Parquet metadata): its id and account."""
    return {"run_id": job.run_id, "accounting": account_of(result)}


def decision_table(decisions: Decisions | None) -> pd.DataFrame | None:
    """The table of a run's review decisions, or None without them."""
    return decisions.table if decisions is not None else None


def verdict_piece(run: AuditRun) -> pd.DataFrame:
    """A run's verdicts with text columns plain, so the pieces of one output share a schema."""
    return plain_columns(run.verdicts)


def no_messages() -> MessageLog:
    """An empty canonical log: what the output of an input without rows is made from."""
    return MessageLog(pd.DataFrame({c: pd.Series([], dtype="str") for c in MESSAGE_COLUMNS}),
                      pd.DataFrame(columns=list(REJECTED_COLUMNS)), records=pd.DataFrame(columns=["file", "record"]))


# --------------------------------------------------------------------------- keys


def key_hashes(messages: pd.DataFrame) -> np.ndarray:
    """Each row's (message_id, recipient_address) key (the readers' ``message_keys``) as 64 bits
    (not categorised first: keys are nearly all distinct, so that would only add a pass)."""
    return pd.util.hash_pandas_object(message_keys(messages), index=False, categorize=False).to_numpy()


def repeated(hashes: Iterable[np.ndarray]) -> np.ndarray:
    """The sorted hashes occurring more than once among all of ``hashes``."""
    every = np.sort(np.concatenate([np.empty(0, dtype="uint64"), *hashes]))
    return np.unique(every[1:][every[1:] == every[:-1]])


def held(messages: pd.DataFrame, repeats: np.ndarray) -> np.ndarray:
    """Which rows have a repeated key (and wait to be settled with the other rows of their key)."""
    return np.isin(key_hashes(messages), repeats)


def split_log(log: MessageLog, hold: np.ndarray) -> tuple[MessageLog, MessageLog]:
    """``(rest, held)``: a batch's log without and with its held rows (its rejected rows go with the rest)."""
    records = log.records
    rest = MessageLog(log.messages[~hold], log.rejected, log.duplicates, log.warnings, records[~hold])
    return rest, MessageLog(log.messages[hold], log.rejected.iloc[:0], records=records[hold])


def settle(logs: list[MessageLog]) -> MessageLog:
    """The held rows of every batch, deduplicated together as the readers do for a whole log."""
    logs = logs or [no_messages()]
    messages = pd.concat([l.messages for l in logs], ignore_index=True)
    records = pd.concat([l.records for l in logs], ignore_index=True)
    keep, conflicts, removed = deduplicate(messages, records)
    return MessageLog(messages[keep].reset_index(drop=True), conflicts, removed, records=records[keep])


# --------------------------------------------------------------------------- pandas


def is_parquet(path: Path) -> bool:
    """A Parquet file, or a folder whose files are all Parquet (a dataset): streamed in batches."""
    files = folder_files(path) if path.is_dir() else [path] if path.is_file() else []
    return bool(files) and all(detect_format(p).name == "parquet" for p in files)


def parquet_files(path: Path) -> list[Path]:
    return folder_files(path) if path.is_dir() else [path]


def _key_columns(file: Path) -> list[str] | None:
    """The file's message_id and recipient_address columns as spelt in it (None: one is missing,
    which validation reports when the batch is read)."""
    names = {n.strip().lower(): n for n in pq.ParquetFile(file).schema_arrow.names}
    columns = [names.get("message_id"), names.get("recipient_address")]
    return None if None in columns else columns


def _parquet_hashes(file: Path, batch_rows: int) -> Iterator[np.ndarray]:
    """Pass one over a Parquet file: the key hashes, reading the two key columns only."""
    columns = _key_columns(file)
    for arrow in pq.ParquetFile(file).iter_batches(batch_size=batch_rows, columns=columns) if columns else ():
        yield key_hashes(arrow.to_pandas().set_axis(["message_id", "recipient_address"], axis=1).astype("str"))


def _parquet_batches(file: Path, batch_rows: int, policy: Policy) -> Iterator[MessageLog]:
    """A Parquet file's rows, ``batch_rows`` at a time, through the readers' validation; each
    row's record is its row number in the file."""
    first = 1
    for arrow in pq.ParquetFile(file).iter_batches(batch_size=batch_rows):
        raw = arrow.to_pandas()
        yield message_log(raw.assign(**{RECORD: np.arange(first, first + len(raw))}), str(file), policy)
        first += len(raw)


def _batches(path: Path, batch_rows: int, policy: Policy, options: Mapping[str, object]) -> Iterator[MessageLog]:
    """One input in batches: Parquet streamed; any other format read one file at a time (held
    whole while its batches are audited)."""
    if is_parquet(path):
        for file in parquet_files(path):
            yield from _parquet_batches(file, batch_rows, policy)
        return
    log = read_message_file(path, policy, options)
    for start in range(0, max(len(log.messages), 1), batch_rows):
        piece = MessageLog(log.messages.iloc[start:start + batch_rows], log.rejected, log.duplicates, log.warnings,
                           log.records.iloc[start:start + batch_rows])
        yield piece if start == 0 else MessageLog(piece.messages, log.rejected.iloc[:0], records=piece.records)


def _hashes(path: Path, batch_rows: int, policy: Policy, options: Mapping[str, object]) -> Iterator[np.ndarray]:
    """Pass one over an input: its key hashes (other formats are read for it, then again for the audit)."""
    if is_parquet(path):
        for file in parquet_files(path):
            yield from _parquet_hashes(file, batch_rows)
    else:
        yield key_hashes(read_message_file(path, policy, options).messages)


def available_memory() -> int | None:
    """Bytes of memory available now (Linux's MemAvailable, else free pages), None when unknown."""
    try:
        with open("/proc/meminfo") as info:
            return next(int(line.split()[1]) * 1024 for line in info if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def memory_budget(job: AuditJob) -> int | None:
    """What an in-memory audit may use: ``--memory-limit``, else a share of available memory."""
    if job.memory_limit is not None:
        return job.memory_limit
    available = available_memory()
    return None if available is None else int(available * DEFAULT_MEMORY_SHARE)


def parquet_row_bytes(paths: Iterable[Path]) -> tuple[int, int] | None:
    """``(rows, uncompressed bytes)`` of inputs that are all Parquet (None otherwise), from their footers."""
    paths = [Path(p) for p in paths]
    if not all(is_parquet(p) for p in paths):
        return None
    metas = [pq.ParquetFile(f).metadata for p in paths for f in parquet_files(p)]
    return (sum(m.num_rows for m in metas),
            sum(m.row_group(i).total_byte_size for m in metas for i in range(m.num_row_groups)))


def batch_rows(job: AuditJob) -> int | None:
    """Rows per batch, None for an audit in memory: ``--batch-rows``; a folder of Parquet files is
    always batched; a Parquet log whose in-memory audit would exceed the memory budget is batched
    so that a batch fits it."""
    if job.batch_rows is not None:
        return job.batch_rows
    if any(Path(p).is_dir() and is_parquet(Path(p)) for p in job.messages):
        return DEFAULT_BATCH_ROWS
    size, budget = parquet_row_bytes(job.messages), memory_budget(job)
    if size is None or budget is None or not size[0] or size[1] * MEMORY_PER_PARQUET_BYTE <= budget:
        return None
    per_row = size[1] * MEMORY_PER_PARQUET_BYTE / size[0]
    return int(min(DEFAULT_BATCH_ROWS, max(MIN_BATCH_ROWS, budget // per_row)))


@register_engine("pandas")
def pandas_engine(job: AuditJob) -> Outcome:
    """In memory (the audit of SPEC §6 as it always ran), or in batches with bounded memory."""
    rows = batch_rows(job)
    if rows is not None:
        return _stream(job, rows)
    run = run_audit(job.messages, job.registry_dir, job.policy, evidence=job.evidence, progress=job.progress,
                    reader_options=job.reader_options, strict=job.strict, mask_key=job.mask_key, decisions=decision_table(job.decisions))
    result = outcome([run])
    write_table(run.verdicts, job.output, stamp(job, result))
    return result


def _stream(job: AuditJob, batch_rows: int) -> Outcome:
    """Read, audit and write a batch at a time: peak memory follows ``batch_rows``, not the input.

    Rows whose key repeats are held back and settled, audited and written last, so they come
    after the others in the output; every verdict is the one the whole input gets.
    """
    def audit_and_write(log: MessageLog) -> Outcome:
        """Audit a log, write its verdicts and keep only its tally."""
        run = audit_log(log, registry, job.policy, evidence=job.evidence, strict=job.strict, mask_key=job.mask_key,
                        texts=texts, decisions=decision_table(job.decisions))
        out.write(verdict_piece(run))
        return outcome([run])

    tallies, waiting, texts = [], [], DecidedTexts()
    with collect_input_warnings() as found, PieceWriter(job.output) as out, \
            tqdm(desc="audit", unit="rows", disable=not job.progress) as bar:
        registry = read_registry(job.registry_dir, job.policy)
        repeats = repeated(h for p in job.messages for h in _hashes(Path(p), batch_rows, job.policy, job.reader_options))
        for path in job.messages:
            for log in _batches(Path(path), batch_rows, job.policy, job.reader_options):
                rest, hold = split_log(log, held(log.messages, repeats))
                tallies.append(audit_and_write(rest))
                waiting.append(hold)
                bar.update(log.rows_read)
        tallies.append(audit_and_write(settle(waiting)))
        result = outcome(tallies)
        out.finish(stamp(job, result))
    return replace(result, warnings=tuple(dict.fromkeys(found)))  # other formats are read twice: each warning once


# --------------------------------------------------------------------------- dask


def _client(scheduler: str | None):
    """A client of the cluster at ``scheduler``, else of a local cluster of this machine's cores."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("(command line)", "--engine dask needs Dask: pip install 'auditlib[dask]'") from None
    if scheduler:
        return Client(scheduler)
    return Client(LocalCluster(processes=True, threads_per_worker=1, dashboard_address=None))


RECORD_COLUMNS = ("file", "record")  # where each row came from, carried beside the messages in a partition


def with_records(log: MessageLog) -> pd.DataFrame:
    """A log's canonical rows with their (file, record) as two more columns: a partition's rows."""
    return pd.concat([log.messages.reset_index(drop=True), log.records.reset_index(drop=True)], axis=1)


def as_log(rows: pd.DataFrame) -> MessageLog:
    """A partition's rows back as a log (no rejected rows: those stay with the client)."""
    return MessageLog(rows.drop(columns=list(RECORD_COLUMNS)), no_messages().rejected, records=rows[list(RECORD_COLUMNS)])


def empty_rows(policy: Policy) -> pd.DataFrame:
    """A partition without rows: the columns and types of every partition (Dask's ``meta``)."""
    return with_records(message_log(no_messages().messages, "", policy))


def read_row_group(file: Path, index: int, first: int, policy: Policy, columns: list[str] | None = None):
    """A worker's read: row group ``index`` of a Parquet file through the readers' validation, with
    records (row numbers from ``first``); with ``columns``, only the key hashes of those columns."""
    table = pq.ParquetFile(file).read_row_group(index, columns=columns)
    if columns:
        return key_hashes(table.to_pandas().set_axis(["message_id", "recipient_address"], axis=1).astype("str"))
    raw = table.to_pandas()
    return with_records(message_log(raw.assign(**{RECORD: np.arange(first, first + len(raw))}), str(file), policy))


def audit_partition(rows: pd.DataFrame, registry: Registry, policy: Policy, evidence: bool,
                    mask_key: bytes | None, repeats: np.ndarray, decisions: Decisions | None, run: str) -> pd.DataFrame:
    """A worker's task: the verdicts of a partition's rows whose key does not repeat, with the texts
    this worker decided for run ``run`` reused. (Decisions come wrapped: Dask would take a bare
    frame argument for partitions to align.)"""
    rest, _ = split_log(as_log(rows), held(rows, repeats))
    return verdict_piece(audit_log(rest, registry, policy, evidence=evidence, mask_key=mask_key,
                                   decisions=decision_table(decisions), texts=of_run(run)))


def partition_matches(verdicts: pd.DataFrame, decisions: Decisions | None) -> pd.Series:
    """A partition's review decision ids that named one of its rows (gathered into the run's outcome)."""
    table = decision_table(decisions)
    return pd.Series(sorted(matched_ids(verdicts, table)) if table is not None else [], dtype="object")


def held_rows(rows: pd.DataFrame, repeats: np.ndarray) -> pd.DataFrame:
    return rows[held(rows, repeats)]


def _row_groups(paths: list[Path]) -> list[tuple[Path, int, int]]:
    """``(file, row group, its first row number)`` of every Parquet file of the inputs, in order."""
    groups = []
    for file in (f for p in paths for f in parquet_files(p)):
        meta = pq.ParquetFile(file).metadata
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        groups += [(file, i, int(first)) for i, first in enumerate(np.cumsum([1] + sizes[:-1]))]
    return groups


def _dask_input(job: AuditJob):
    """``(rows, repeats, log)``: the input as a Dask frame of canonical rows with records, the
    hashes of repeated keys, and the log read here (``None`` when every input is Parquet).

    Parquet (files or dataset folders) is read and validated by the workers, a row group per
    partition, after a first pass over the key columns only. Other formats are read here by the
    readers, all inputs as one log (repeated keys are then settled already), and shipped as
    partitions of ``batch_rows`` rows.
    """
    import dask
    import dask.dataframe as dd

    paths = [Path(p) for p in job.messages]
    if not all(is_parquet(p) for p in paths):
        log = read_log(paths, job.policy, job.reader_options)
        size = job.batch_rows or DEFAULT_BATCH_ROWS
        rows = dd.from_pandas(with_records(log), npartitions=max(1, math.ceil(len(log.messages) / size)), sort=False)
        return rows, repeated([]), log
    groups = _row_groups(paths)
    keys = [_key_columns(file) for file, _, _ in groups]
    repeats = repeated(dask.compute(*[dask.delayed(read_row_group)(f, i, first, job.policy, k)
                                      for (f, i, first), k in zip(groups, keys) if k]))
    rows = dd.from_map(read_row_group, *zip(*groups), policy=job.policy, meta=empty_rows(job.policy), enforce_metadata=False)
    return rows, repeats, None


def to_folder(output: Path) -> bool:
    """Partitioned Parquet (a folder) when the output is a folder or a name without a suffix
    (``out/``: the shell's trailing separator is gone by the time it is a Path)."""
    return output.is_dir() or not output.suffix


@register_engine("dask")
def dask_engine(job: AuditJob) -> Outcome:
    """The input's partitions audited by Dask workers, the registry broadcast to each.

    Output: partitioned Parquet written by the workers when ``output`` is a folder, else the
    partitions gathered in order and written piece by piece to the one file. Rows whose key
    repeats are settled here and written last.
    """
    import dask

    with collect_input_warnings() as found, _client(job.scheduler) as client:
        registry = read_registry(job.registry_dir, job.policy)
        rows, repeats, log = _dask_input(job)
        audit_one = lambda log: audit_log(log, registry, job.policy, evidence=job.evidence, strict=job.strict,
                                          mask_key=job.mask_key, decisions=decision_table(job.decisions))
        read = audit_one(MessageLog(no_messages().messages, log.rejected, log.duplicates, log.warnings)) if log else None
        settled = audit_one(settle([as_log(rows.map_partitions(held_rows, repeats).compute())] if len(repeats) else []))
        meta = audit_partition(empty_rows(job.policy), registry, job.policy, job.evidence, job.mask_key, repeats, job.decisions,
                               job.run_id)
        shared = client.scatter(registry, broadcast=True)
        verdicts = rows.map_partitions(audit_partition, shared, job.policy, job.evidence, job.mask_key, repeats,
                                       job.decisions, job.run_id, meta=meta)
        if to_folder(job.output):
            counts = verdicts["verdict"].map_partitions(verdict_counts, meta=pd.Series([], dtype="int64"))
            matches = verdicts.map_partitions(partition_matches, job.decisions, meta=pd.Series([], dtype="object"))
            _, counts, matches = dask.compute(verdicts.to_parquet(str(job.output), write_index=False, compute=False),
                                              counts, matches)
            if len(settled.verdicts):
                write_table(verdict_piece(settled), Path(job.output) / f"part.{verdicts.npartitions}.parquet")
            counts = counts.groupby(level=0).sum().reindex(list(VERDICTS), fill_value=0).astype("int64")
            matched = frozenset(matches)
        else:
            counts, matched = verdict_counts(pd.Series([], dtype="str")), frozenset()
            with PieceWriter(job.output) as out:
                for future in client.compute(verdicts.to_delayed()):
                    out.write(future.result())
                    counts += verdict_counts(future.result()["verdict"])
                    matched |= frozenset(partition_matches(future.result(), job.decisions))
                    future.release()
                out.write(verdict_piece(settled))
                out.finish(stamp(job, tally(read, settled, counts, matched)))
    return replace(tally(read, settled, counts, matched), warnings=tuple(found))


def tally(read: AuditRun | None, settled: AuditRun, counts: pd.Series, matched: frozenset[str] = frozenset()) -> Outcome:
    """A Dask run's outcome: the client's reading and settling, and the workers' verdict counts and
    the review decision ids their rows matched."""
    parts = Outcome(counts, no_messages().rejected, int(counts.sum()), matched=matched)
    return outcome([r for r in (read, settled) if r is not None] + [parts])

"""A run's manifest: what was read (by SHA-256), under which policy, and an account of every row.

The account is the auditor's promise that no message went missing: rows read = verdict rows
+ rejected rows + identical copies removed. ``auditlib audit`` writes it beside its output,
named after the output's full name (``v.parquet.manifest.json``, so ``v.csv`` and ``v.parquet``
never share one), with the run id and the output's SHA-256; a Parquet output carries the run
id and account in its own metadata too. Every reader of a verdicts file checks that file and
manifest agree (:func:`verified_manifest`), so a file left by another run is never certified.
"""
from __future__ import annotations

import json
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

import pandas as pd

from ..errors import InputError
from ..policy import Policy
from ..registry import REGISTRY_FILES
from .atomic import Replacement
from .digests import input_digests, sha256_file
from .log import input_files
from .tables import parquet_metadata, write_table

if TYPE_CHECKING:
    from ..engines import AuditJob, Outcome


def new_run_id() -> str:
    return uuid.uuid4().hex


def accounting(rows_read: int, counts: Mapping[str, int], rejected: int, duplicates: int) -> dict:
    """Rows read, verdicts (and per verdict value), rejected rows and removed copies; ``balanced``
    says the first is the sum of the others."""
    verdicts = int(sum(counts.values()))
    return {
        "rows_read": int(rows_read), "verdicts": verdicts, "rejected": int(rejected), "duplicates_removed": int(duplicates),
        "by_verdict": {name: int(n) for name, n in counts.items()},
        "balanced": int(rows_read) == verdicts + int(rejected) + int(duplicates),
    }


def account_of(run: Outcome) -> dict:
    return accounting(run.rows_read, run.counts.to_dict(), len(run.rejected), run.duplicates)


def sidecar(output: Path, kind: str) -> Path:
    """A file beside the output, named after its full name: ``v.csv.rejected.csv``, ``v.csv.manifest.json``."""
    return output.with_name(f"{output.name}.{kind}")


def audit_manifest(run_id: str, messages: Iterable[Path], registry_dir: str | Path, policy: Policy, account: dict,
                   warnings: Iterable[str], started: pd.Timestamp, options: Mapping[str, object]) -> dict:
    """The manifest of an ``auditlib audit`` run ``run_id`` that started at ``started`` (UTC)."""
    return {
        "run_id": run_id,
        "auditlib_version": version("auditlib"),
        "policy_version": policy.version,
        "started_at": f"{started:%Y-%m-%dT%H:%M:%SZ}",
        "seconds": round((pd.Timestamp.now(tz="UTC") - started).total_seconds(), 3),
        "inputs": input_digests(messages),
        "registry": input_digests(Path(registry_dir) / name for name in REGISTRY_FILES),
        "options": dict(options),
        "accounting": account,
        "warnings": list(warnings),
    }


def record_run(job: AuditJob, run: Outcome, staged: Path, files: Replacement, started: pd.Timestamp,
               options: Mapping[str, object]) -> str:
    """Stage what an ``auditlib audit`` run leaves beside its output (``OUT.rejected.csv`` when rows
    were rejected, else the previous run's removed; ``OUT.manifest.json`` always, naming the
    verdicts written to ``staged`` by digest) and return the summary line."""
    rejected = sidecar(job.output, "rejected.csv")
    where = ""
    if len(run.rejected):
        write_table(run.rejected, files.stage(rejected))
        where = f" (listed in {rejected})"
    else:
        files.drop(rejected)
    decisions = [Path(job.decisions.file)] if job.decisions is not None else []  # an input too: it changes the rows
    manifest = audit_manifest(job.run_id, [*input_files(job.messages), *decisions], job.registry_dir, job.policy,
                              account_of(run), run.warnings, started, options)
    if staged.is_file():
        manifest["output"] = {"file": job.output.name, "sha256": sha256_file(staged)}
    with files.stage(sidecar(job.output, "manifest.json")).open("w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False, default=str)
    by_verdict = ", ".join(f"{name} {count}" for name, count in run.counts.items())
    return (f"{run.rows_read} rows read, {run.verdicts} verdicts ({by_verdict}), {len(run.rejected)} rejected{where}, "
            f"{run.duplicates} duplicates removed -> {job.output}")


def verified_manifest(verdicts: Path) -> dict | None:
    """The manifest ``auditlib audit`` left beside a verdicts file, once checked to describe
    that very file (its SHA-256, and a Parquet file's own run id); ``None`` for a file that
    names no run and has no manifest (one written by hand). A mismatch is an InputError: the
    file or the manifest is left from another, perhaps interrupted, run."""
    path = sidecar(verdicts, "manifest.json")
    stamp = parquet_metadata(verdicts) if verdicts.suffix.lower() == ".parquet" else {}
    if not path.is_file():
        if stamp.get("run_id"):
            raise InputError(str(verdicts), f"written by run {stamp['run_id']} but its manifest {path.name} is missing")
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        output = manifest["output"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(str(path), "unreadable manifest (re-run auditlib audit)") from None
    if stamp and stamp.get("run_id") != manifest.get("run_id"):
        raise InputError(str(verdicts), f"written by run {stamp.get('run_id')}, but {path.name} describes run "
                                        f"{manifest.get('run_id')}: re-run auditlib audit")
    if output.get("sha256") != sha256_file(verdicts):
        raise InputError(str(verdicts), f"does not match its manifest {path.name} (run {manifest.get('run_id')}): "
                                        "changed since, or left by an interrupted run; re-run auditlib audit")
    return manifest

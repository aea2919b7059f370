"""A run's manifest: what was read (by SHA-256), under which policy, and an account of every row.

The account is the auditor's promise that no message went missing: rows read = verdict rows
+ rejected rows + identical copies removed. ``auditlib audit`` writes it beside its output
(``OUT.manifest.json``); ``auditlib report`` puts it in its ``manifest.json``.
"""
from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping

import pandas as pd

from .policy import Policy
from .readers import input_files
from .registry import REGISTRY_FILES
from .summarise import input_digests

if TYPE_CHECKING:
    from .engines import AuditJob, Outcome


def accounting(rows_read: int, counts: Mapping[str, int], rejected: int, duplicates: int) -> dict:
    """Rows read, verdicts (and per verdict value), rejected rows and removed copies; ``balanced``
    says the first is the sum of the others."""
    verdicts = int(sum(counts.values()))
    return {
        "rows_read": int(rows_read), "verdicts": verdicts, "rejected": int(rejected), "duplicates_removed": int(duplicates),
        "by_verdict": {name: int(n) for name, n in counts.items()},
        "balanced": int(rows_read) == verdicts + int(rejected) + int(duplicates),
    }


def sidecar(output: Path, kind: str) -> Path:
    """A file beside the output: ``OUT.<kind>.csv`` / ``OUT.manifest.json`` for ``OUT.csv``."""
    return output.with_name(f"{output.stem}.{kind}")


def audit_manifest(messages: Iterable[str | Path], registry_dir: str | Path, policy: Policy, account: dict,
                   warnings: Iterable[str], started: pd.Timestamp, options: Mapping[str, object]) -> dict:
    """The manifest of an ``auditlib audit`` run that started at ``started`` (UTC)."""
    return {
        "auditlib_version": version("auditlib"),
        "policy_version": policy.version,
        "started_at": f"{started:%Y-%m-%dT%H:%M:%SZ}",
        "seconds": round((pd.Timestamp.now(tz="UTC") - started).total_seconds(), 3),
        "inputs": input_digests(input_files(messages)),
        "registry": input_digests(Path(registry_dir) / name for name in REGISTRY_FILES),
        "options": dict(options),
        "accounting": account,
        "warnings": list(warnings),
    }


def write_manifest(manifest: dict, path: Path) -> None:
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")


def read_accounting(verdicts: Path) -> dict | None:
    """The account in the manifest beside a verdicts file, if ``auditlib audit`` left one."""
    try:
        return json.loads(sidecar(verdicts, "manifest.json").read_text(encoding="utf-8"))["accounting"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def record_run(job: AuditJob, run: Outcome, started: pd.Timestamp, options: Mapping[str, object]) -> str:
    """Write what an ``auditlib audit`` run leaves beside its output (``OUT.rejected.csv`` when rows
    were rejected, ``OUT.manifest.json`` always) and return its summary line."""
    from .writers import write_table

    where = ""
    if len(run.rejected):
        write_table(run.rejected, sidecar(job.output, "rejected.csv"))
        where = f" (listed in {sidecar(job.output, 'rejected.csv')})"
    account = accounting(run.rows_read, run.counts.to_dict(), len(run.rejected), run.duplicates)
    write_manifest(audit_manifest(job.messages, job.registry_dir, job.policy, account, run.warnings, started, options),
                   sidecar(job.output, "manifest.json"))
    by_verdict = ", ".join(f"{name} {count}" for name, count in run.counts.items())
    return (f"{run.rows_read} rows read, {run.verdicts} verdicts ({by_verdict}), {len(run.rejected)} rejected{where}, "
            f"{run.duplicates} duplicates removed -> {job.output}")

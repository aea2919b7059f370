"""``auditlib report``: one HTML violations report per partner, an overview, an index and a manifest.

Each partner's report is the packaged ``auditlib/notebooks/partner_report.ipynb`` executed by
papermill in a kernel of *this* interpreter (whatever kernelspecs the user has installed), kept by
each worker for its next notebook with the namespace emptied in between (:mod:`kernels`),
on an input the run prepared with that partner's rows only (:mod:`report_inputs`), then exported
to HTML without code by nbconvert with an offline template: plotly.js and DataTables are written
once next to the reports and loaded from there, never from the network. Reports run in parallel worker
processes; a partner whose inputs and notebook did not change since the last run is skipped
unless forced, but only when its HTML, CSV and notebook are the very files that run recorded
(by SHA-256 in ``manifest.json``) and its notebook completed. A failing report does not stop
the others. One run writes a folder at a time (a lock); every file is written atomically; on
SIGTERM or SIGINT the workers are killed and the index and manifest say what finished.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import time
from concurrent.futures import as_completed
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Iterable

import pandas as pd
from tqdm import tqdm  # the terminal's bar: this runs in a command, never in a kernel

from . import history, notify, report_inputs, summarise, workers
from .kernels import register_engine
from .charts import render
from .errors import InputError, OutputError
from .io.atomic import folder, os_errors, refuse_inputs, staging, sweep, write_text
from .io.digests import input_digests, sha256_file
from .io.inputs import Inputs, load_inputs
from .io.lock import locked
from .io.manifest import accounting, sidecar, verified_manifest
from .io.names import safe_name
from .io.previous import PARTNER_DIR, PATTERNS, PreviousReport, read_previous
from .io.tables import write_table
from .policy import load_policy
from .privacy import mask_recipients
from .registry import REGISTRY_FILES

NOTEBOOKS = Path(str(resources.files("auditlib") / "notebooks"))  # package data: found in any install
TEMPLATES = Path(str(resources.files("auditlib") / "templates"))
PLOTLYJS = "plotly.min.js"
DATATABLES_JS, DATATABLES_CSS = "datatables.js", "datatables.css"


# ----------------------------------------------------------------------------- keys

def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a frame's values (row hashes), to tell whether a partner's rows changed."""
    return hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()


def run_key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# ----------------------------------------------------------------------------- one notebook

@dataclass(frozen=True)
class Job:
    """One notebook to execute and export."""

    name: str  # partner id, or "overview"
    notebook: Path
    executed: Path
    html: Path
    parameters: dict
    asset_base: str  # where the page finds plotly.js and DataTables: "" or "../"
    title: str


@dataclass
class Outcome:
    status: str  # ok | failed | skipped | interrupted
    seconds: float = 0.0
    error: str = ""


def execute(job: Job) -> Outcome:
    """Run one notebook with papermill (kept even when it fails) and export it to HTML; each
    file appears whole, under its name, only once written."""
    import papermill as pm

    started = time.perf_counter()
    temp, failure, book = staging(job.executed), "", None
    try:
        book = pm.execute_notebook(
            str(job.notebook), str(temp), parameters=job.parameters, progress_bar=False, engine_name=register_engine(),
        )
    except pm.PapermillExecutionError as err:  # it ran and failed: kept, it shows why
        failure = f"{err.ename}: {err.evalue}"
    except Exception as err:  # a kernel that died or never started, a full disk: nothing worth keeping
        temp.unlink(missing_ok=True)
        return Outcome("failed", time.perf_counter() - started, f"{type(err).__name__}: {err}")
    try:
        with os_errors(job.executed):
            os.replace(temp, job.executed)
        if not failure:
            export_html(book, job.html, job.asset_base, job.title)
    except OutputError as err:
        temp.unlink(missing_ok=True)
        failure = str(err)
    return Outcome("failed" if failure else "ok", time.perf_counter() - started, failure)


@cache
def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="auditlib_report", extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
    )


def export_html(book, html: Path, asset_base: str, title: str) -> None:
    """The executed notebook (papermill's, not read again) as a page without code or logs (stderr),
    plotly.js and DataTables from ``asset_base``."""
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if o.get("name") != "stderr"]
    book.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(book, resources={"asset_base": asset_base})
    write_text(html, body)


def completed(executed: Path) -> bool:
    """Whether papermill ran the notebook to its end without an exception."""
    try:
        meta = json.loads(executed.read_text(encoding="utf-8")).get("metadata", {}).get("papermill", {})
    except (OSError, ValueError):
        return False
    return bool(meta.get("end_time")) and not meta.get("exception")


# ----------------------------------------------------------------------------- the run

@dataclass
class PartnerResult:
    partner_id: str
    file: str
    status: str
    seconds: float
    key: str
    error: str = ""
    headline: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)  # {"html" | "notebook" | "csv" | "patterns": sha256} once written
    new: int | None = None  # patterns by state against --previous (None: no previous report, or it did not cover the partner)
    recurring: int | None = None
    resolved: int | None = None
    trend: list = field(default_factory=list)  # open violations per report period it knows, oldest first


@dataclass
class RunResult:
    out_dir: Path
    partners: list[PartnerResult]
    overview: Outcome
    account: dict = field(default_factory=dict)  # the manifest's "accounting" and "warnings"
    interrupted: str = ""  # the signal that stopped the run, if one did
    period: summarise.Period | None = None
    messages: int = 0  # rows in the period: none means nothing was audited, which every page says
    violations: int = 0  # of them, each counted once (a reseller's is not also its provider's)
    previous: dict = field(default_factory=dict)  # the earlier report's folder and period, with --previous
    notify: dict = field(default_factory=dict)  # what --notify-command did (the manifest's "notify")

    @property
    def failed(self) -> list[PartnerResult]:
        return [p for p in self.partners if p.status == "failed"]


def run_reports(
    out_dir: str | Path,
    registry: str | Path,
    verdicts: str | Path | None = None,
    messages: Iterable[str | Path] = (),
    start: str = "",
    end: str = "",
    partners: Iterable[str] = (),
    jobs: int = 1,
    force: bool = False,
    progress: bool = False,
    notebooks: str | Path = NOTEBOOKS,
    mask_key: bytes | None = None,
    policy: str | Path = "",
    decisions: str | Path = "",
    previous: str | Path = "",
    notify_command: str = "",
) -> RunResult:
    """Write every report under ``out_dir``; see the module docstring for what is skipped.

    With ``mask_key``, recipient addresses are masked (:mod:`privacy`) in every file written;
    ``policy`` (a policy file) is the one the audit, the CSVs and every notebook use; ``decisions``
    (a review decisions file) is applied to the verdicts every page and CSV shows; ``previous``
    (an earlier report folder) gives each pattern its state (:mod:`history`); ``notify_command``
    runs after a run that wrote every report (:mod:`notify`).
    """
    out_dir, notebooks = Path(out_dir).resolve(), Path(notebooks).resolve()  # the folder may be a link; nothing in it is followed
    messages = list(messages)
    copy = _verdicts_copy(out_dir, verdicts, mask_key)
    refuse_inputs([out_dir / PARTNER_DIR, *([copy, sidecar(copy, "rejected.csv")] if copy else [])],
                  [*messages, registry, *([verdicts] if verdicts else []), *([decisions] if decisions else []),
                   *([previous] if previous else [])])
    folder(out_dir)
    with locked(out_dir), tempfile.TemporaryDirectory(prefix="auditlib-report-") as prepared:
        for written in (out_dir, folder(out_dir / PARTNER_DIR)):
            sweep(written)
        settings = _Settings(start, end, jobs, force, progress, notebooks, mask_key,
                             str(Path(policy).resolve()) if policy else "", Path(prepared), str(decisions),
                             Path(previous).resolve() if previous else None, notify_command)
        return _run(out_dir, registry, verdicts, messages, partners, settings)


@dataclass(frozen=True)
class _Settings:
    start: str
    end: str
    jobs: int
    force: bool
    progress: bool
    notebooks: Path
    mask_key: bytes | None
    policy_file: str
    prepared: Path  # private folder for the notebooks' prepared inputs
    decisions: str = ""  # review decisions file; empty: none
    previous: Path | None = None  # an earlier report folder (--previous)
    notify_command: str = ""


def _run(out_dir: Path, registry, verdicts, messages, partners, settings: _Settings) -> RunResult:
    policy = load_policy(settings.policy_file or None)
    inputs, _ = _inputs(out_dir, registry, verdicts, messages, settings.mask_key, settings.policy_file, settings.decisions)
    period = summarise.Period.of(settings.start, settings.end, inputs.verdicts["sent_at"])
    chosen = list(dict.fromkeys(partners)) or list(inputs.registry.partners["partner_id"])
    for partner_id in chosen:
        summarise.partner_record(inputs.registry, partner_id)
    earlier = _earlier(settings.previous, chosen, period)
    previous = _previous_manifest(out_dir)
    write_assets(out_dir)
    notebook_digests = input_digests(settings.notebooks / n for n in ("partner_report.ipynb", "overview.ipynb"))
    registry_digests = input_digests(Path(registry) / name for name in REGISTRY_FILES)
    common = {"inputs": inputs.digests, "period": period.label(), "auditlib": version("auditlib"),
              "policy": policy.version, "masked": settings.mask_key is not None}
    versions = {k: common[k] for k in ("auditlib", "policy")}

    pending, results, pasts = {}, {}, {}
    by_partner = summarise.rows_by_partner(inputs.verdicts, inputs.registry)
    for partner_id in tqdm(chosen, desc="prepare", unit="partner", disable=not settings.progress, leave=False):
        rows = by_partner[partner_id]
        current = rows[period.mask(rows["sent_at"])]
        found = history.patterns(current)
        past = pasts[partner_id] = _past(earlier, partner_id, period, found)
        prepared = report_inputs.partner_input(rows, inputs.registry, partner_id, period, inputs.digests,
                                               settings.policy_file, past)
        stem = safe_name(partner_id)
        key = run_key(rows=frame_digest(prepared.rows), registry=registry_digests, period=common["period"],
                      notebook=notebook_digests[str(settings.notebooks / "partner_report.ipynb")],
                      history=_history_key(past), **versions)
        headline = summarise.headline(prepared.rows, period)
        before = previous.get("partners", {}).get(partner_id, {})
        paths = _partner_paths(out_dir, stem)
        states = history.counts(past.states) if past.states is not None else dict.fromkeys(history.STATES)
        known = {"headline": headline, **states, "trend": past.trend}
        if not settings.force and _unchanged(before, key, paths):
            results[partner_id] = PartnerResult(partner_id, stem, "skipped", before.get("seconds", 0.0), key,
                                                files=before["files"], **known)
            continue
        results[partner_id] = PartnerResult(partner_id, stem, "interrupted", 0.0, key, **known)
        try:
            write_table(found, paths["patterns"])  # what the next report's --previous reads
            write_table(summarise.findings(summarise.violations(current), prepared.customers, policy), paths["csv"])
        except OutputError as err:  # a full or read-only disk: this report fails, the others still run
            results[partner_id].status, results[partner_id].error = "failed", str(err)
            continue
        pending[partner_id] = _job(partner_id, settings, prepared, paths)

    overview_key = run_key(notebook=notebook_digests[str(settings.notebooks / "overview.ipynb")], **common)
    overview_job = _overview_job(out_dir, settings, report_inputs.overview_input(
        inputs.verdicts, inputs.registry, period, inputs.digests, settings.policy_file))
    run_overview = settings.force or bool(pending) or previous.get("overview", {}).get("key") != overview_key \
        or not overview_job.html.exists()
    overview, interrupted = Outcome("interrupted" if run_overview else "skipped"), ""
    pool = workers.pool(settings.jobs)
    try:
        with workers.interruptible(), tqdm(total=len(pending) + run_overview, desc="reports", unit="report",
                                           disable=not settings.progress) as bar:
            futures = {pool.submit(execute, job): partner_id for partner_id, job in pending.items()}
            for future in as_completed(futures):
                partner_id = futures[future]
                outcome = future.result()
                result = results[partner_id]
                result.status, result.seconds, result.error = outcome.status, outcome.seconds, outcome.error
                result.files = _digests(_partner_paths(out_dir, result.file)) if outcome.status == "ok" else {}
                bar.set_postfix_str(f"{partner_id}: {outcome.status}")
                bar.update()
            if run_overview:
                overview = pool.submit(execute, overview_job).result()
            bar.update(run_overview)
    except workers.Interrupted as err:
        interrupted = str(err)
    finally:
        workers.stop(pool)
        sweep(out_dir / PARTNER_DIR)

    current = inputs.verdicts[period.mask(inputs.verdicts["sent_at"])]
    result = RunResult(out_dir, [results[p] for p in chosen], overview, _account(inputs, verdicts), interrupted,
                       period, len(current), len(summarise.violations(current)),
                       {"folder": str(earlier.folder), "period": earlier.label()} if earlier else {})
    _write_index(result, inputs.registry, period)  # first: on a filling disk, the page people read
    manifest = _write_manifest(result, common | result.account, notebook_digests, overview_key, period)
    if settings.notify_command and not interrupted and not result.failed and overview.status != "failed":
        known = {p: past.states for p, past in pasts.items()} if earlier else None
        payload = notify.summary(notify.new_high_findings(current, inputs.registry, chosen, known), manifest, out_dir)
        result.notify = notify.run_command(settings.notify_command, payload)
        write_text(out_dir / "manifest.json", json.dumps(manifest | {"notify": result.notify}, indent=2, ensure_ascii=False))
    return result


def _earlier(folder: Path | None, partners: list[str], period: summarise.Period) -> PreviousReport | None:
    """The earlier report (--previous), which must end by the time this period starts."""
    if folder is None:
        return None
    earlier = read_previous(folder, partners)
    if earlier.end > period.start:
        raise InputError(str(folder), f"its period {earlier.label()} does not end before this one, {period.label()}, starts")
    return earlier


def _past(earlier: PreviousReport | None, partner_id: str, period: summarise.Period, now: pd.DataFrame) -> history.PartnerHistory:
    """A partner's history from its period's patterns ``now``: their states against the earlier report
    (when that covered the partner) and the open violations of every period the chain of reports knows."""
    was = earlier.partners.get(partner_id) if earlier else None
    trend = history.trend(was.trend if was else [], period.start, period.end, int(now["open_violations"].sum()))
    if earlier is None:
        return history.PartnerHistory(trend=trend)
    return history.PartnerHistory(str(earlier.folder), earlier.label(),
                                  history.states(now, was.patterns) if was else None, trend)


def _history_key(past: history.PartnerHistory) -> str:
    """What a partner's page shows about the earlier report, as part of its run key."""
    states = frame_digest(past.states) if past.states is not None else ""
    return run_key(previous=past.previous, period=past.previous_period, states=states, trend=past.trend)



def _job(partner_id: str, settings: _Settings, prepared: report_inputs.PartnerInput, paths: dict[str, Path]) -> Job:
    """The partner's notebook, run on its prepared input (its rows only)."""
    path = settings.prepared / f"{paths['html'].stem}.pickle"
    report_inputs.save(prepared, path)
    return Job(partner_id, settings.notebooks / "partner_report.ipynb", paths["notebook"], paths["html"],
               {"partner_id": partner_id, "prepared": str(path), "policy": settings.policy_file}, "../",
               f"Violations report: {partner_id}")


def _overview_job(out_dir: Path, settings: _Settings, prepared: report_inputs.OverviewInput) -> Job:
    path = settings.prepared / "overview.pickle"
    report_inputs.save(prepared, path)
    return Job("overview", settings.notebooks / "overview.ipynb", out_dir / "overview.ipynb", out_dir / "overview.html",
               {"prepared": str(path), "policy": settings.policy_file}, "", "Violations overview: all partners")


def _unchanged(before: dict, key: str, paths: dict[str, Path]) -> bool:
    """A partner's last report still stands: same key, and its HTML, CSV and notebook are the
    files that run wrote (SHA-256) with the notebook run to its end."""
    if before.get("key") != key or before.get("status") not in ("ok", "skipped") or not before.get("files"):
        return False
    return before["files"] == _digests(paths) and completed(paths["notebook"])


def _digests(paths: dict[str, Path]) -> dict[str, str]:
    return {name: sha256_file(path) if path.is_file() and not path.is_symlink() else "" for name, path in paths.items()}


def _inputs(out_dir: Path, registry, verdicts, messages, mask_key: bytes | None, policy: str,
            decisions: str = "") -> tuple[Inputs, Path]:
    """Load the verdicts, or audit the messages once (rejected rows beside the verdicts) and keep
    the verdicts for the notebooks. Masked verdicts are written to ``out_dir`` for the notebooks to read."""
    inputs = load_inputs(verdicts=verdicts or "", messages=messages, registry=registry, policy=policy, decisions=decisions)
    if mask_key is not None:
        inputs = replace(inputs, verdicts=mask_recipients(inputs.verdicts, mask_key))
    path = _verdicts_copy(out_dir, verdicts, mask_key)
    if path is None:
        return inputs, Path(verdicts).resolve()
    write_table(inputs.verdicts, path)
    rejected = inputs.run.rejected if inputs.run is not None else []
    if len(rejected):
        write_table(rejected if mask_key is None else mask_recipients(rejected, mask_key), sidecar(path, "rejected.csv"))
    else:
        with os_errors(path):
            sidecar(path, "rejected.csv").unlink(missing_ok=True)
    return inputs, path


def _verdicts_copy(out_dir: Path, verdicts, mask_key: bytes | None) -> Path | None:
    """Where the run writes the verdicts its notebooks read: those it audited, or masked ones;
    ``None`` when the notebooks read the given verdicts file itself."""
    if not verdicts:
        return out_dir / "verdicts.parquet"
    return out_dir / "verdicts.masked.parquet" if mask_key is not None else None


def _account(inputs: Inputs, verdicts) -> dict:
    """The manifest's account of rows: the audit's when it ran here, else the one ``auditlib audit``
    left beside the verdicts file (checked to describe it; absent: only the verdicts are counted)."""
    run = inputs.run
    counts = inputs.verdicts["verdict"].astype("str").value_counts().reindex(summarise.VERDICTS, fill_value=0).to_dict()
    if run is not None:
        return {"accounting": accounting(run.rows_read, counts, len(run.rejected), run.duplicates),
                "warnings": list(run.warnings) + list(inputs.unmatched)}
    manifest = verified_manifest(Path(verdicts))
    return {"accounting": manifest["accounting"] if manifest else {"verdicts": len(inputs.verdicts), "by_verdict": counts},
            "warnings": list(inputs.unmatched)}


def _partner_paths(out_dir: Path, stem: str) -> dict[str, Path]:
    folder = out_dir / PARTNER_DIR
    return {"html": folder / f"{stem}.html", "notebook": folder / f"{stem}.ipynb", "csv": folder / f"{stem}.violations.csv",
            "patterns": folder / f"{stem}{PATTERNS}"}


def write_assets(out_dir: Path) -> None:
    """plotly.js and DataTables beside the pages, which load them from there (offline)."""
    from plotly.offline import get_plotlyjs

    write_text(out_dir / PLOTLYJS, get_plotlyjs())
    write_text(out_dir / DATATABLES_JS, _datatables_js())
    write_text(out_dir / DATATABLES_CSS, (resources.files("itables") / "html" / "dt_bundle.css").read_text(encoding="utf-8"))


@cache
def _datatables_js() -> str:
    """itables' DataTables bundle as a classic script: an ES module cannot be loaded from a
    ``file:`` page, so its ``export {...}`` becomes ``window.auditlibDataTables``."""
    bundle = (resources.files("itables") / "html" / "dt_bundle.js").read_text(encoding="utf-8")
    *_, exports = re.finditer(r"export\s*\{([^}]*)\};?", bundle)
    names = ",".join(f"{alias.strip()}:{name.strip()}" for name, alias in (p.split(" as ") for p in exports[1].split(",")))
    return f"(function(){{{bundle[:exports.start()]};window.auditlibDataTables={{{names}}};{bundle[exports.end():]}}})();\n"


def _previous_manifest(out_dir: Path) -> dict:
    path = out_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(result: RunResult, common: dict, notebooks: dict, overview_key: str, period: summarise.Period) -> dict:
    manifest = {
        "generated_at": f"{pd.Timestamp.now(tz='UTC'):%Y-%m-%dT%H:%M:%SZ}",
        "auditlib_version": common["auditlib"],
        "policy_version": common["policy"],
        "period": {"start": f"{period.start:%Y-%m-%d}", "end": f"{period.end:%Y-%m-%d}"},
        "inputs": common["inputs"],
        "recipients_masked": common["masked"],
        "accounting": common["accounting"],
        "warnings": common.get("warnings", []),
        "notebooks": notebooks,
        "interrupted": result.interrupted,
        "previous": result.previous or None,
        "overview": asdict(result.overview) | {"key": overview_key},
        "partners": {p.partner_id: asdict(p) for p in result.partners},
    }
    write_text(result.out_dir / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def _write_index(result: RunResult, registry, period: summarise.Period) -> None:
    names = registry.partners.set_index("partner_id")[["partner_name", "partner_type"]].fillna("")
    links = {p.partner_id: {k: v.as_posix() for k, v in _partner_paths(Path(), p.file).items()} for p in result.partners}
    rows = [asdict(p) | names.loc[p.partner_id].to_dict() | links[p.partner_id] for p in result.partners]
    rows.sort(key=lambda r: (-r["headline"]["violations"], r["headline"]["compliance_rate"] or 0.0))
    page = render("index.html.j2", rows=rows, period=period, overview=result.overview, messages=result.messages,
                  generated_at=pd.Timestamp.now(tz="UTC"), previous=result.previous)
    write_text(result.out_dir / "index.html", page)

"""Command line: a thin layer over the library (SPEC §6 for ``audit``)."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from .errors import InputError, collect_input_warnings
from .workers import Interrupted, interruptible


class Group(click.Group):
    """Unusable input ends the command with one line and exit status 2, never a traceback;
    SIGTERM or SIGINT with one line and status 130, after the outputs' staged files are removed."""

    def invoke(self, ctx: click.Context):
        try:
            with interruptible():
                return super().invoke(ctx)
        except Interrupted as stop:
            click.echo(f"auditlib: stopped by {stop}; the previous outputs are left as they were", err=True)
            sys.exit(130)
        except InputError as err:
            click.echo(f"auditlib: error: {err}", err=True)
            sys.exit(2)
        except OSError as err:  # a file the command could not read or write, wherever it was met
            click.echo(f"auditlib: error: {err.filename or '(file system)'}: {err.strerror or err}", err=True)
            sys.exit(2)


DECISIONS_HELP = ("Review decisions (CSV: id, decision, reviewer, decided_at, comment, optional expires; README "
                  "\"Reviewing findings\"): rows they name get review_decision, reviewed_by, reviewed_at and review_comment "
                  "after finding_id and pattern_id; verdicts never change. An id naming no row is a warning.")

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def byte_size(text: str) -> int:
    """``4G``, ``500M``, ``512K`` or a number of bytes (a trailing ``B``/``iB`` is allowed) as bytes."""
    number = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = number[-1:] if number[-1:] in _UNITS else ""
    try:
        return int(float(number.removesuffix(unit)) * _UNITS[unit])
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a size such as 4G, 500M or 1000000") from None


def memory_limit_option(streamed: str):
    """``--memory-limit`` as audit and whatif read it; ``streamed`` says how a log over it is audited."""
    return click.option("--memory-limit", type=str, default=None, metavar="SIZE", callback=lambda _, __, v: v and byte_size(v),
                        help="Memory an in-memory audit may use (4G, 500M, bytes); a Parquet log needing more is streamed "
                             f"{streamed}. Default: half the memory available.")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="auditlib")
def main() -> None:
    """Audit message logs against Microsoft's CSP customer-communication policy."""


@main.command()
@click.argument("messages", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--registry", "registry_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding partners.csv, customers.csv and agreements.csv.")
@click.option("--output", required=True, type=click.Path(path_type=Path),
              help="Verdicts file: .csv writes CSV, .parquet writes Parquet; with --engine dask, a folder "
                   "(a name without a suffix, e.g. verdicts/) gets partitioned Parquet.")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A policy data file instead of the packaged one.")
@click.option("--microsoft-domains", metavar="D1;D2",
              help="Microsoft's sender domains, ';'-separated, instead of the policy's list.")
@click.option("--evidence", is_flag=True, help="Add topic_evidence, topic_confidence and product_evidence columns.")
@click.option("--progress/--no-progress", default=None, help="Show progress (default: when stderr is a terminal).")
@click.option("--customer-id", "customer_ids", multiple=True, metavar="ID",
              help="Customer a tenant-addressed feed (Message center, service health) belongs to; repeatable.")
@click.option("--day-first", is_flag=True, default=None,
              help="Read slash dates of trace exports as d/M/yyyy (default: M/d/yyyy unless a file's dates can only be day-first).")
@click.option("--engine", type=click.Choice(["pandas", "dask"]), default="pandas", show_default=True,
              help="pandas: this process, in memory or in batches; dask: partitions on a Dask cluster.")
@click.option("--batch-rows", type=click.IntRange(min=1), default=None, metavar="N",
              help="Audit N rows at a time, writing the output as it goes: peak memory then follows N, not the "
                   "input (Parquet is streamed; other formats are held one file at a time). A folder of Parquet "
                   "files is always batched (500,000 rows). With --engine dask: rows per partition of non-Parquet input.")
@memory_limit_option("in batches that fit it, with the same verdicts")
@click.option("--scheduler", metavar="ADDRESS",
              help="With --engine dask: an existing cluster's scheduler (tcp://host:8786); default a local cluster.")
@click.option("--strict", is_flag=True, help="A rejected input row, or a file in an input folder that cannot be read, is an "
              "error (exit 2) instead of a row of OUT.rejected.csv.")
@click.option("--mask-recipients", is_flag=True,
              help="Replace recipient addresses by a keyed hash (domain kept); the key is read from AUDITLIB_MASK_KEY.")
@click.option("--decisions", "decisions_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help=DECISIONS_HELP)
def audit(messages, registry_dir, output, policy_file, microsoft_domains, evidence, progress, customer_ids, day_first,
          engine, batch_rows, memory_limit, scheduler, strict, mask_recipients, decisions_file) -> None:
    """Audit MESSAGES (canonical CSV, Parquet or JSON Lines logs; Exchange message traces as CSV or
    JSON and Reporting Web Service pages; Defender EmailEvents; Graph Message center and service
    health JSON, the old Service Communications feed, Azure Service Health events; .eml and mbox
    files; folders of any of them, a file no reader knows set aside as rejected) and write one
    verdict per row.

    Inputs larger than memory: a Parquet log is streamed in batches by itself when an in-memory
    audit would exceed --memory-limit; otherwise give --batch-rows (or a folder of Parquet
    files). The verdicts are the same as in one piece.

    Every row read is accounted for: rows read = verdicts + rejected rows (OUT.rejected.csv)
    + identical copies removed, printed and stored in OUT.manifest.json (OUT being the output's full name) with the inputs' SHA-256.

    Exit status 0 when the audit ran, whatever it found; 2 with a one-line reason naming
    file, row and column when input is unusable.
    """
    import pandas as pd

    from .engines import AuditJob, run_engine, to_folder
    from .io.atomic import Replacement, refuse_inputs
    from .io.decisions import read_decisions
    from .io.manifest import record_run, sidecar
    from .review_decisions import unmatched
    from .policy import load_policy
    from .privacy import mask_key
    from .io.log import raise_first_rejection

    started = pd.Timestamp.now(tz="UTC")
    policy = load_policy(policy_file)
    if microsoft_domains:
        policy = policy.with_microsoft_domains(microsoft_domains.split(";"))
    show = sys.stderr.isatty() if progress is None else progress
    with collect_input_warnings() as noted:  # a blank row skipped: said with the run's warnings
        decisions = read_decisions(decisions_file, policy) if decisions_file else None
    job = AuditJob(messages, registry_dir, output, policy, evidence=evidence, progress=show,
                   reader_options={"customer_ids": customer_ids, "day_first": day_first or None}, batch_rows=batch_rows,
                   memory_limit=memory_limit, scheduler=scheduler,
                   strict=strict, mask_key=mask_key() if mask_recipients else None, decisions=decisions)
    refuse_inputs([output, sidecar(output, "rejected.csv"), sidecar(output, "manifest.json")],
                  [*messages, registry_dir, *([decisions_file] if decisions_file else [])])
    options = {"engine": engine, "evidence": evidence, "strict": strict, "mask_recipients": mask_recipients,
               "customer_ids": list(customer_ids), "day_first": day_first, "microsoft_domains": list(policy.microsoft_domains),
               "decisions": str(decisions_file) if decisions_file else None}
    with Replacement() as files:  # the verdicts, rejected rows and manifest replace the previous ones together
        staged = files.stage(output, folder_ok=engine == "dask" and to_folder(output))
        run = run_engine(engine, replace(job, output=staged))
        if strict:  # in memory, the audit stopped before writing; batches are checked once written
            raise_first_rejection(run.rejected)
        if decisions is not None:
            run = replace(run, warnings=(*noted, *run.warnings, *unmatched(decisions.table, run.matched, decisions.file)))
        summary = record_run(job, run, staged, files, started, options)
    for warning in run.warnings:
        click.echo(f"auditlib: warning: {warning}", err=True)
    click.echo(f"auditlib: {summary}", err=True)


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--messages", "n_messages", default=3000, show_default=True, type=click.IntRange(min=1),
              help="Message rows to generate.")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same files.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default=None,
              help="Message log format (default: csv up to 100,000 rows, else parquet).")
@click.option("--chunk-rows", default=500_000, show_default=True, type=click.IntRange(min=1000),
              help="Rows generated and written per chunk (bounds memory).")
def generate(out_dir, n_messages, seed, fmt, chunk_rows) -> None:
    """Write a synthetic registry (OUT_DIR/registry) and message log (OUT_DIR/messages.*)."""
    from .generate import generate_dataset

    path = generate_dataset(out_dir, n_messages=n_messages, seed=seed, fmt=fmt, chunk_rows=chunk_rows)
    click.echo(f"auditlib: wrote {n_messages} messages to {path} and a registry to {Path(out_dir) / 'registry'}", err=True)


@main.group()
def registry() -> None:
    """Build a registry folder (partners.csv, customers.csv, agreements.csv) from exports."""


@registry.command("from-partner-center")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--customers", "customer_files", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Partner Center customers JSON (GET /v1/customers); repeatable, e.g. one per page.")
@click.option("--subscriptions", "subscription_files", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Partner Center subscriptions JSON (GET /v1/customers/{id}/subscriptions); repeatable.")
@click.option("--resellers", "reseller_files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Partner Center reseller relationships JSON (GET /v1/relationships); adds your indirect resellers "
                   "to partners.csv with you as parent; repeatable.")
@click.option("--partner-id", required=True, help="Your partner id (MPN id): the partner of record.")
@click.option("--partner-type", required=True, metavar="TYPE", help="direct_bill or indirect_provider.")
@click.option("--partner-name", default="", help="Your partner name.")
@click.option("--sender-domains", default="", metavar="D1;D2", help="Domains you send from, ';'-separated.")
@click.option("--cloud", default="commercial", show_default=True, help="commercial, or usgov for Partner Center for US Government.")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A policy data file (its offer-to-family table) instead of the packaged one.")
@click.option("--force", is_flag=True, help="Replace registry files already in OUT_DIR.")
def from_partner_center(out_dir, customer_files, subscription_files, reseller_files, partner_id, partner_type, partner_name,
                        sender_domains, cloud, policy_file, force) -> None:
    """Write OUT_DIR's registry from Partner Center customer and subscription exports.

    Each subscription becomes a csp agreement from its creation date; Partner Center does not
    know direct agreements (EA, MCA, ...): add those to agreements.csv by hand.
    """
    from .io.registry_files import write_registry
    from .partner_center import Partner, build_registry

    partner = Partner(partner_id, partner_type, partner_name, sender_domains)
    build = build_registry(customer_files, subscription_files, partner, cloud, policy_file, reseller_files)
    write_registry(build, out_dir, overwrite=force)
    for row in build.skipped.itertuples():
        click.echo(f"auditlib: skipped subscription {row.subscription_id} ({row.file}, record {row.record}): {row.reason}", err=True)
    click.echo(f"auditlib: {len(build.partners)} partners, {len(build.customers)} customers, "
               f"{len(build.agreements)} agreements, {len(build.skipped)} subscriptions skipped -> {out_dir}", err=True)


@main.command()
@click.argument("messages", nargs=-1, type=click.Path(path_type=Path))
@click.option("--verdicts", "verdicts", type=click.Path(dir_okay=False, path_type=Path),
              help="Verdicts file from `auditlib audit` (.csv or .parquet), instead of MESSAGES.")
@click.option("--registry", "registry_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Registry folder: partner and customer names, clouds, resellers (and the audit, with MESSAGES).")
@click.option("--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for index.html, overview.html, manifest.json and partners/*.")
@click.option("--start", default="", metavar="YYYY-MM-DD", help="First day of the period (default: the data's first day).")
@click.option("--end", default="", metavar="YYYY-MM-DD", help="Day after the period (default: the day after the data's last).")
@click.option("--partner", "partners", multiple=True, metavar="ID", help="Report on this partner only; repeatable (default: all).")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1), help="Reports run in parallel.")
@click.option("--force", is_flag=True, help="Re-run partners whose inputs did not change since the last run.")
@click.option("--progress/--no-progress", default=None, help="Show progress (default: when stderr is a terminal).")
@click.option("--notebooks", "notebooks", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Folder with your own partner_report.ipynb and overview.ipynb (default: the packaged ones, auditlib/notebooks).")
@click.option("--mask-recipients", is_flag=True,
              help="Replace recipient addresses by a keyed hash (domain kept) in every file; key from AUDITLIB_MASK_KEY.")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A policy data file instead of the packaged one (the audit, the CSVs and every notebook use it).")
@click.option("--decisions", "decisions_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help=DECISIONS_HELP + " Pages then count open violations beside all, and the review queue leaves settled rows out.")
@click.option("--previous", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None, metavar="DIR",
              help="An earlier report folder (its period ends by --start): each pattern becomes new, recurring or resolved, "
                   "and the open violations of every period the chain of reports knows are carried forward.")
@click.option("--notify-command", metavar="CMD", default="",
              help="After a run that wrote every report, run CMD through the shell with a JSON summary of the new "
                   "high-severity open findings on its standard input (new against --previous; without it, every one); "
                   "not run when there are none. A failing CMD is a warning (stderr, manifest), not a failed run.")
def report(messages, verdicts, registry_dir, out_dir, start, end, partners, jobs, force, progress, notebooks,
           mask_recipients, policy_file, decisions_file, previous, notify_command) -> None:
    """Per-partner violation reports (HTML, notebook, CSV), an overview and an index.html.

    Reads a verdicts file (--verdicts) or audits MESSAGES first. With --previous DIR (last
    month's report folder, say), each partner's findings are told new, recurring or resolved.
    Exit status 0 when every report was written, 1 when some failed (the others are still
    written), 2 on unusable input, 130 when stopped by SIGTERM or SIGINT (the index and
    manifest list what finished); a failing --notify-command leaves it 0.
    """
    import time

    from .errors import InputError
    from .privacy import mask_key
    from .report import NOTEBOOKS, run_reports

    started = time.perf_counter()

    if bool(verdicts) == bool(messages):
        raise InputError("(command line)", "give MESSAGES or --verdicts FILE, not both or neither")
    show = sys.stderr.isatty() if progress is None else progress
    result = run_reports(out_dir, registry_dir, verdicts=verdicts, messages=messages, start=start, end=end,
                         partners=partners, jobs=jobs, force=force, progress=show, notebooks=notebooks or NOTEBOOKS,
                         mask_key=mask_key() if mask_recipients else None, policy=policy_file or "",
                         decisions=decisions_file or "", previous=previous or "", notify_command=notify_command)
    for warning in result.account.get("warnings", []):
        click.echo(f"auditlib: warning: {warning}", err=True)
    account = result.account["accounting"]
    if "rows_read" in account:
        click.echo(f"auditlib: {account['rows_read']} rows read, {account['verdicts']} verdicts, {account['rejected']} rejected, "
                   f"{account['duplicates_removed']} duplicates removed", err=True)
    if not result.messages:
        click.echo(f"auditlib: warning: no messages in the period {result.period.label()}; the reports say so", err=True)
    counts = {s: sum(p.status == s for p in result.partners) for s in ("ok", "skipped", "failed", "interrupted")}
    click.echo(f"auditlib: {len(result.partners)} partner reports ({counts['ok']} written, {counts['skipped']} unchanged, "
               f"{counts['failed']} failed, {counts['interrupted']} not run), overview {result.overview.status}; "
               f"{result.messages:,} messages in {result.period.label()}, {result.violations:,} violations; "
               f"{time.perf_counter() - started:.1f} s -> {result.out_dir / 'index.html'}", err=True)
    if result.notify.get("status") == "failed":
        click.echo(f"auditlib: warning: {result.notify['error']} (the reports are written)", err=True)
    if result.interrupted:
        click.echo(f"auditlib: stopped by {result.interrupted}; the index lists what finished", err=True)
        sys.exit(130)
    failures = [f"{p.partner_id} ({p.error})" for p in result.failed]
    if result.overview.status == "failed":
        failures.append(f"overview ({result.overview.error})")
    if failures:
        click.echo(f"auditlib: failed: {'; '.join(failures)}", err=True)
        sys.exit(1)


@main.command()
@click.argument("messages", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--registry", "registry_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding partners.csv, customers.csv and agreements.csv.")
@click.option("--policy", "policy_file", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The proposed policy data file.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The policy to compare with (default: the packaged one).")
@click.option("--output", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for changes.csv, index.html and manifest.json.")
@click.option("--batch-rows", type=click.IntRange(min=1), default=None, metavar="N",
              help="Audit and compare N rows at a time: peak memory then follows N, not the input (as for audit).")
@memory_limit_option("(as for audit)")
@click.option("--progress/--no-progress", default=None, help="Show progress (default: when stderr is a terminal).")
def whatif(messages, registry_dir, policy_file, baseline_file, out_dir, batch_rows, memory_limit, progress) -> None:
    """Try a policy change on history: audit MESSAGES (any log audit reads) under the baseline
    policy (--baseline, default the packaged one) and the proposed one (--policy) and write, in
    the --output folder, changes.csv with every message-recipient row whose verdict or rule id
    differs (message_id, recipient_address, partner_ids, verdict_before, rule_id_before,
    verdict_after, rule_id_after, reason_after), index.html with the changes per partner and rule
    and a chart, and manifest.json. Large logs are audited and compared in batches.
    """
    from .policy import load_policy
    from .whatif import run_whatif

    show = sys.stderr.isatty() if progress is None else progress
    result = run_whatif(messages, registry_dir, load_policy(policy_file), load_policy(baseline_file), out_dir,
                        rows=batch_rows, memory_limit=memory_limit, progress=show)
    for warning in result.warnings:
        click.echo(f"auditlib: warning: {warning}", err=True)
    click.echo(f"auditlib: {result.rows} rows audited under policies {result.baseline.version} and {result.proposed.version}, "
               f"{result.changed} changed -> {result.out_dir / 'index.html'}", err=True)


@main.command()
@click.argument("labelled", type=click.Path(exists=True, path_type=Path))
@click.option("--split", type=click.Choice(["all", "dev", "test"]), default="all", show_default=True,
              help="Rows to measure: the held-out test split, the dev split used for tuning, or all.")
@click.option("--language", default=None, metavar="TAG", help="Measure only rows of this language (e.g. zh-CN).")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A policy data file instead of the packaged one.")
@click.option("--model", "model_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A trained text model instead of the policy's (e.g. one trained on the dev split only).")
@click.option("--errors", "show_errors", is_flag=True, help="Also list the misclassified rows with their evidence.")
def evaluate(labelled, split, language, policy_file, model_file, show_errors) -> None:
    """Measure topic and product classification against LABELLED (CSV or JSON Lines with
    id, language, subject, body, topic, product and optionally source_kind, or a folder of
    such CSV files): accuracy per language and per source kind, the crossed errors that
    flip a verdict, the reliability of the confidence, precision and recall per label,
    and confusion tables."""
    from dataclasses import replace

    from .evaluate import evaluate as run_evaluation, read_labelled, report
    from .policy import load_policy

    policy = load_policy(policy_file)
    if model_file:
        policy = replace(policy, model_path=model_file)
    result = run_evaluation(read_labelled(labelled), policy, split=split, language=language)
    click.echo(report(result, f"{labelled} ({split} split{', ' + language if language else ''}; policy {policy.version})"))
    if show_errors and len(result.errors):
        click.echo("Misclassified:\n" + result.errors.to_string(index=False))

if __name__ == "__main__":
    main()

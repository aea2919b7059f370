"""Command line: a thin layer over the library (SPEC §6 for ``audit``)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from .errors import InputError


class Group(click.Group):
    """Unusable input ends the command with one line and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as err:
            click.echo(f"auditlib: error: {err}", err=True)
            sys.exit(2)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="auditlib")
def main() -> None:
    """Audit message logs against Microsoft's CSP customer-communication policy."""


@main.command()
@click.argument("messages", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--registry", "registry_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding partners.csv, customers.csv and agreements.csv.")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Verdicts file: .csv writes CSV, .parquet writes Parquet.")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A policy data file instead of the packaged one.")
@click.option("--microsoft-domains", metavar="D1;D2",
              help="Microsoft's sender domains, ';'-separated, instead of the policy's list.")
@click.option("--evidence", is_flag=True, help="Add topic_evidence, topic_confidence and product_evidence columns.")
@click.option("--progress/--no-progress", default=None, help="Show progress (default: when stderr is a terminal).")
def audit(messages, registry_dir, output, policy_file, microsoft_domains, evidence, progress) -> None:
    """Audit MESSAGES (CSV, Parquet or JSON Lines message logs) and write one verdict per row.

    Exit status 0 when the audit ran, whatever it found; 2 with a one-line reason naming
    file, row and column when input is unusable.
    """
    from .audit import audit_files
    from .policy import load_policy
    from .writers import write_table

    policy = load_policy(policy_file)
    if microsoft_domains:
        policy = policy.with_microsoft_domains(microsoft_domains.split(";"))
    show = sys.stderr.isatty() if progress is None else progress
    verdicts = audit_files(messages, registry_dir, policy, evidence=evidence, progress=show)
    write_table(verdicts, output)
    counts = verdicts["verdict"].value_counts()
    summary = ", ".join(f"{name} {int(counts.get(name, 0))}" for name in verdicts["verdict"].cat.categories)
    click.echo(f"auditlib: {len(verdicts)} rows read, {len(verdicts)} verdicts ({summary}), 0 rejected -> {output}", err=True)


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


if __name__ == "__main__":
    main()

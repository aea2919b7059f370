"""``auditlib whatif``: a proposed policy tried on history before it is adopted.

The same message logs are audited twice by the engines (:mod:`engines`), under the baseline
policy and the proposed one, each to a Parquet file in a private temporary folder, with the
same batching decided once, so both files hold the same rows in the same order. They are then
read side by side a piece at a time (:func:`~auditlib.io.tables.read_pieces`) and every
message-recipient row whose verdict or rule id differs is written to ``changes.csv``; memory
follows the batch, not the log. ``index.html`` counts the changes per partner and rule.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Iterable

import pandas as pd

from . import charts, summarise
from .engines import DEFAULT_BATCH_ROWS, AuditJob, Outcome, batch_rows, memory_budget, run_engine
from .errors import InputError
from .io.atomic import Replacement, folder, refuse_inputs
from .io.digests import input_digests
from .io.log import input_files
from .io.manifest import account_of
from .io.registry_files import read_registry
from .io.tables import PieceWriter, read_pieces
from .policy import Policy
from .registry import REGISTRY_FILES, Registry

KEYS = ["message_id", "recipient_address"]
READ = [*KEYS, "partner_ids", "verdict", "rule_id", "reason"]
CHANGE_COLUMNS = ["message_id", "recipient_address", "partner_ids", "verdict_before", "rule_id_before", "verdict_after",
                  "rule_id_after", "reason_after"]
TRANSITION = ["verdict_before", "rule_id_before", "verdict_after", "rule_id_after"]
NO_PARTNER = "(no partner of record)"


def changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The rows of two audits of the same rows, in the same order, whose verdict or rule id differ
    (an empty rule id equals an empty one), with the proposed policy's reason."""
    if len(before) != len(after) or not (before[KEYS].to_numpy() == after[KEYS].to_numpy()).all():
        raise InputError("(whatif)", "the two audits read different rows: did an input change while they ran?")
    text = lambda frame, column: frame[column].astype("object").fillna("").astype("str").to_numpy()
    differ = (text(before, "verdict") != text(after, "verdict")) | (text(before, "rule_id") != text(after, "rule_id"))
    was, now = before[differ], after[differ]
    return pd.DataFrame({
        "message_id": now["message_id"], "recipient_address": now["recipient_address"], "partner_ids": now["partner_ids"],
        "verdict_before": was["verdict"].to_numpy(), "rule_id_before": was["rule_id"].to_numpy(),
        "verdict_after": now["verdict"], "rule_id_after": now["rule_id"], "reason_after": now["reason"],
    })[CHANGE_COLUMNS].reset_index(drop=True)


def tally(found: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """Changed rows per partner answering for them (as in the reports: a reseller's row is also its
    provider's; a row without a partner of record under :data:`NO_PARTNER`) and transition."""
    pairs = summarise.row_partners(found, registry)
    alone = found.drop(index=found.index[pairs["row"].unique()]).assign(partner_id=NO_PARTNER)
    assigned = pd.concat([found.iloc[pairs["row"].to_numpy()].assign(partner_id=pairs["partner_id"].to_numpy()), alone])
    facts = assigned[["partner_id", *TRANSITION]].astype("object").fillna("")
    return facts.groupby(["partner_id", *TRANSITION]).size().rename("rows").reset_index()


def by_change(found: pd.DataFrame) -> pd.DataFrame:
    """Changed rows per transition, each row once."""
    return found[TRANSITION].astype("object").fillna("").groupby(TRANSITION).size().rename("rows").reset_index()


def transitions(table: pd.DataFrame) -> pd.Series:
    """``violation CSP-COMM-2 → allowed CSP-COMM-4`` per row of a :func:`tally` table."""
    side = lambda when: (table[f"verdict_{when}"] + " " + table[f"rule_id_{when}"]).str.strip()
    return side("before") + " → " + side("after")


@dataclass(frozen=True)
class WhatIf:
    out_dir: Path
    rows: int  # message-recipient rows audited under both policies
    changed: int
    by_partner: pd.DataFrame  # tally()
    by_change: pd.DataFrame  # by_change()
    baseline: Policy
    proposed: Policy
    runs: tuple[Outcome, Outcome]  # before, after
    warnings: tuple[str, ...] = ()


def run_whatif(messages: Iterable[str | Path], registry_dir: str | Path, proposed: Policy, baseline: Policy,
               out_dir: str | Path, rows: int | None = None, memory_limit: int | None = None,
               progress: bool = False) -> WhatIf:
    """Audit ``messages`` under ``baseline`` and ``proposed`` and write ``out_dir``'s ``changes.csv``,
    ``index.html`` and ``manifest.json`` (together, atomically) with plotly.js and DataTables beside them."""
    from .report import write_assets

    messages, out_dir = tuple(Path(p) for p in messages), Path(out_dir)
    refuse_inputs([out_dir], [*messages, registry_dir])
    job = AuditJob(messages, Path(registry_dir), out_dir, baseline, progress=progress, batch_rows=rows, memory_limit=memory_limit)
    job = replace(job, memory_limit=memory_budget(job))  # decided once: both audits batch alike, so their rows line up
    job = replace(job, batch_rows=batch_rows(job))
    piece = job.batch_rows or DEFAULT_BATCH_ROWS
    registry = read_registry(job.registry_dir, baseline)
    warnings = ((f"both policies say version {baseline.version}: bump the proposed one's version so its verdicts can "
                 "be told apart",) if baseline.version == proposed.version else ())
    with tempfile.TemporaryDirectory(prefix="auditlib-whatif-") as temp, Replacement() as files:
        audited = {name: Path(temp) / f"{name}.parquet" for name in ("before", "after")}
        runs = tuple(run_engine("pandas", replace(job, policy=policy, output=audited[name]))
                     for name, policy in (("before", baseline), ("after", proposed)))
        none = pd.DataFrame(columns=CHANGE_COLUMNS)
        tallies, kinds, total, changed = [tally(none, registry)], [by_change(none)], 0, 0
        with PieceWriter(files.stage(folder(out_dir) / "changes.csv")) as out:
            for before, after in zip(read_pieces(audited["before"], piece, READ), read_pieces(audited["after"], piece, READ)):
                found = changes(before, after)
                out.write(found)
                tallies.append(tally(found, registry))
                kinds.append(by_change(found))
                total, changed = total + len(before), changed + len(found)
            if not out.pieces:
                out.write(none)
        by_partner = pd.concat(tallies).groupby(["partner_id", *TRANSITION], as_index=False)["rows"].sum()
        kinds = pd.concat(kinds).groupby(TRANSITION, as_index=False)["rows"].sum()
        result = WhatIf(out_dir, total, changed, by_partner, kinds, baseline, proposed, runs, warnings)
        files.write_text(out_dir / "index.html", page(result, registry))
        files.write_text(out_dir / "manifest.json", manifest(result, job))
    write_assets(out_dir)
    return result


def page(result: WhatIf, registry: Registry) -> str:
    """``index.html``: the changes per rule and per partner, and a chart of them (plotly.js from beside it)."""
    table = result.by_partner.assign(change=transitions(result.by_partner))
    per_rule = result.by_change.assign(change=transitions(result.by_change)).sort_values("rows", ascending=False, kind="stable")
    labels = summarise.partner_labels(registry)
    per_partner = table.assign(partner=table["partner_id"].map(labels).fillna(table["partner_id"]))
    chart = pd.crosstab(per_partner["partner"], per_partner["change"], values=per_partner["rows"], aggfunc="sum").fillna(0)
    chart = chart.loc[chart.sum(axis=1).sort_values(ascending=False, kind="stable").index].astype("int64")
    figure = charts.stacked_bars(chart, "", "partner", y_title="changed rows", horizontal=True) if len(chart) else None  # the heading names it
    return charts.render(
        "whatif.html.j2", result=result, generated_at=pd.Timestamp.now(tz="UTC"),
        chart=charts.figure_html(figure) if figure else "",
        per_rule=charts.table_html(per_rule[["change", "rows"]], "per-rule", interactive=False),
        per_partner=charts.table_html(per_partner.sort_values(["rows", "partner"], ascending=[False, True], kind="stable")[
            ["partner", "change", "rows"]], "per-partner"),
    )


def manifest(result: WhatIf, job: AuditJob) -> str:
    """``manifest.json``: what was read (SHA-256), both policies, the account of each audit and the changes."""
    policy = lambda p: {"file": str(p.path), "version": p.version}
    return json.dumps({
        "generated_at": f"{pd.Timestamp.now(tz='UTC'):%Y-%m-%dT%H:%M:%SZ}",
        "auditlib_version": version("auditlib"),
        "inputs": input_digests(input_files(job.messages)),
        "registry": input_digests(job.registry_dir / name for name in REGISTRY_FILES),
        "baseline": policy(result.baseline), "proposed": policy(result.proposed),
        "batch_rows": job.batch_rows,
        "accounting": {"before": account_of(result.runs[0]), "after": account_of(result.runs[1])},
        "rows": result.rows, "changed": result.changed,
        "warnings": [*result.warnings, *dict.fromkeys(w for run in result.runs for w in run.warnings)],
    }, indent=2, ensure_ascii=False, default=str)

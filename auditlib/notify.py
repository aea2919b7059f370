"""``--notify-command``: after a scheduled run, tell people about the new high-severity findings.

The command runs through the shell with a JSON summary on standard input (:func:`summary`). A
finding is *new* when its pattern is new against the earlier report (``--previous``) for one of
the partners answering for it; without ``--previous``, or for a partner the earlier report did not
cover, every finding is new. Only open violations of high severity are sent (one a reviewer
settled as a false positive or accepted risk is not news). A failing command is a warning, never
a failed run: the reports are written either way. The command itself is not recorded (it may
carry a webhook's secret address).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Mapping

import pandas as pd

from .findings import open_violations
from .registry import Registry
from .summarise import row_partners

FIELDS = ("finding_id", "pattern_id", "partner_ids", "customer_id", "sender_address", "rule_id", "severity", "sent_at", "subject")
TIMEOUT_SECONDS = 300


def new_high_findings(verdicts: pd.DataFrame, registry: Registry, partners: list[str],
                      known: Mapping[str, pd.DataFrame | None] | None) -> pd.DataFrame:
    """The open high-severity findings among ``verdicts`` (the period's rows) that ``partners``
    answer for and whose pattern is new; ``known``: each partner's :func:`history.states` table
    (``None`` for one the earlier report did not cover), or ``None`` without an earlier report.
    Adds ``partner_id``: the partner (one of ``partners``) the finding is new for, one row each."""
    high = verdicts[(verdicts["severity"].astype("str") == "high") & open_violations(verdicts)].reset_index(drop=True)
    pairs = row_partners(high, registry)
    pairs = pairs[pairs["partner_id"].isin(partners)].assign(pattern_id=lambda p: high["pattern_id"].to_numpy()[p["row"]])
    if known is not None:
        uncovered = [p for p, states in known.items() if states is None]
        new = pd.concat([states.loc[states["state"].astype("str") == "new", ["pattern_id"]].assign(partner_id=p)
                         for p, states in known.items() if states is not None] or [pd.DataFrame(columns=["pattern_id", "partner_id"])])
        fresh = pairs.merge(new, on=["partner_id", "pattern_id"], how="left", indicator=True)["_merge"].eq("both").to_numpy()
        pairs = pairs[fresh | pairs["partner_id"].isin(uncovered).to_numpy()]
    rows = high.iloc[pairs["row"].to_numpy()].reset_index(drop=True)
    return rows.reindex(columns=list(FIELDS)).assign(partner_id=pairs["partner_id"].to_numpy()).sort_values(
        ["sent_at", "finding_id", "partner_id"], kind="stable").reset_index(drop=True)


def summary(found: pd.DataFrame, manifest: Mapping, out_dir: Path) -> dict:
    """The JSON sent to the command: the run (period, policy version, report folder, the earlier
    report), the counts, and each new high-severity finding once (with every partner it is new for)."""
    facts = found.astype("object").assign(sent_at=found["sent_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).fillna("")
    findings = facts.groupby(list(FIELDS), sort=False)["partner_id"].agg(";".join).rename("new_for").reset_index()
    findings = findings.astype("object").where(findings != "", None)
    return {
        "run": {"report_folder": str(out_dir), "index": str(out_dir / "index.html"), "period": manifest["period"],
                "policy_version": manifest["policy_version"], "previous": manifest.get("previous"),
                "generated_at": manifest["generated_at"]},
        "counts": {"findings": len(findings), "by_partner": {p: int(n) for p, n in found["partner_id"].value_counts().sort_index().items()},
                   "by_rule": {r: int(n) for r, n in findings["rule_id"].value_counts().sort_index().items()}},
        "findings": findings.to_dict("records"),
    }


def run_command(command: str, payload: dict) -> dict:
    """Run ``command`` through the shell with ``payload`` as JSON on standard input (not when there
    is nothing new); what happened, for the manifest: ``status`` ok, skipped or failed, and ``error``."""
    result = {"findings": payload["counts"]["findings"], "status": "skipped", "error": ""}
    if not payload["findings"]:
        return result | {"error": "no new high-severity findings: the command was not run"}
    data = json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8")
    try:
        process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, start_new_session=True)
    except OSError as err:
        return result | {"status": "failed", "error": f"could not start the notify command: {err.strerror or err}"}
    try:
        process.communicate(data, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        _stop(process)
        return result | {"status": "failed", "error": f"the notify command did not finish within {TIMEOUT_SECONDS} s and was stopped"}
    except BaseException:  # SIGTERM or SIGINT stopping the run stops the command too
        _stop(process)
        raise
    if process.returncode:
        return result | {"status": "failed", "error": f"the notify command exited with status {process.returncode}"}
    return result | {"status": "ok"}


def _stop(process: subprocess.Popen) -> None:
    """Kill the shell and whatever it started (its own session)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()

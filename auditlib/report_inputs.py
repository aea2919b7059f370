"""What a report notebook reads, prepared once by ``auditlib report``: the verdicts are read and
checked once by the run, then each partner's notebook gets only its own rows, customers and
registry facts. Its kernel re-reads and re-validates nothing, and never holds another partner's
data. The run pickles these to a private temporary folder; a notebook run by hand builds the
same object from files (:func:`partner_input_of`, :func:`overview_input_of`)."""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from . import summarise
from .history import PartnerHistory
from .registry import Registry


@dataclass(frozen=True)
class PartnerInput:
    """One partner's report input: its rows in the period and the period before, nothing else."""

    partner: pd.Series  # its registry row
    resellers: pd.DataFrame  # partner_id, partner_name of its indirect resellers
    customers: pd.DataFrame  # its customers only (those its rows name)
    rows: pd.DataFrame
    period: summarise.Period
    digests: Mapping[str, str]  # the run's input files, by SHA-256
    policy_file: str = ""  # empty: the packaged policy
    history: PartnerHistory = PartnerHistory()  # against --previous; empty: no previous report given


@dataclass(frozen=True)
class OverviewInput:
    """The overview's input: every row of the period and the period before, and the registry."""

    verdicts: pd.DataFrame
    registry: Registry
    period: summarise.Period
    digests: Mapping[str, str]
    policy_file: str = ""


def _in_reach(rows: pd.DataFrame, period: summarise.Period) -> pd.DataFrame:
    """The rows a report can show: the period's and the previous period's (for the change)."""
    return rows[period.mask(rows["sent_at"]) | period.previous().mask(rows["sent_at"])].reset_index(drop=True)


def partner_input(rows: pd.DataFrame, registry: Registry, partner_id: str, period: summarise.Period,
                  digests: Mapping[str, str], policy_file: str = "", history: PartnerHistory = PartnerHistory()) -> PartnerInput:
    """``rows``: the partner's own verdict rows (:func:`summarise.partner_rows`); ``history``: its
    patterns against an earlier report (:mod:`auditlib.history`)."""
    rows = _in_reach(rows, period)
    customers = registry.customers[registry.customers["customer_id"].isin(rows["customer_id"].dropna())]
    return PartnerInput(summarise.partner_record(registry, partner_id), summarise.resellers_of(registry, partner_id),
                        customers.reset_index(drop=True), rows, period, dict(digests), policy_file, history)


def overview_input(verdicts: pd.DataFrame, registry: Registry, period: summarise.Period,
                   digests: Mapping[str, str], policy_file: str = "") -> OverviewInput:
    return OverviewInput(_in_reach(verdicts, period), registry, period, dict(digests), policy_file)


def partner_input_of(partner_id: str, registry: str | Path, verdicts: str | Path = "", messages: Iterable = (),
                     start: str = "", end: str = "", policy: str = "", decisions: str = "") -> PartnerInput:
    """The same input built from files, for a notebook run by hand (papermill, JupyterLab)."""
    from .io.inputs import load_inputs

    inputs = load_inputs(verdicts=verdicts, messages=messages, registry=registry, policy=policy, decisions=decisions)
    period = summarise.Period.of(start, end, inputs.verdicts["sent_at"])
    rows = summarise.partner_rows(inputs.verdicts, inputs.registry, partner_id)
    return partner_input(rows, inputs.registry, partner_id, period, inputs.digests, policy)


def overview_input_of(registry: str | Path, verdicts: str | Path = "", messages: Iterable = (),
                      start: str = "", end: str = "", policy: str = "", decisions: str = "") -> OverviewInput:
    from .io.inputs import load_inputs

    inputs = load_inputs(verdicts=verdicts, messages=messages, registry=registry, policy=policy, decisions=decisions)
    period = summarise.Period.of(start, end, inputs.verdicts["sent_at"])
    return overview_input(inputs.verdicts, inputs.registry, period, inputs.digests, policy)


def save(prepared: PartnerInput | OverviewInput, path: Path) -> None:
    with open(path, "wb") as fh:
        pickle.dump(prepared, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load(path: str | Path) -> PartnerInput | OverviewInput:
    """An input the run wrote for this notebook (its own private file; never load one from elsewhere)."""
    with open(path, "rb") as fh:
        return pickle.load(fh)

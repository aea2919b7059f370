"""The audit: read → resolve → classify → decide, one verdict row per message row (SPEC §5)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd
from tqdm import tqdm  # a text bar, also in a notebook (tqdm.auto warns without ipywidgets)

from .classify import classify
from .decide import decide
from .errors import collect_input_warnings
from .findings import FINDING_COLUMNS, identify
from .policy import Policy, load_policy
from .privacy import mask_recipients
from .io.log import MessageLog, canonical_messages, raise_first_rejection, read_log
from .io.registry_files import read_registry
from .registry import Registry
from .resolve import resolve
from .review_decisions import apply_decisions, matched_ids
from .schema import MESSAGE_COLUMNS, VERDICT_COLUMNS
from .textcache import DecidedTexts

EVIDENCE_COLUMNS = ("topic_evidence", "topic_confidence", "product_evidence")


def audit(
    messages: pd.DataFrame,
    registry: Registry,
    policy: Policy | None = None,
    evidence: bool = False,
    progress: bool = False,
    texts: DecidedTexts | None = None,
) -> pd.DataFrame:
    """Verdicts for a canonical message frame, in input order.

    ``messages`` may come from :func:`read_messages` or be built by hand (text columns;
    it is validated and normalised here if ``sent_at`` is not yet a UTC timestamp).
    With ``evidence`` the classifier's matched terms and confidence, and the subject, are kept
    as extra columns after the SPEC §5 ones; ``finding_id`` and ``pattern_id`` always are (review
    columns, when decisions are given, follow them: :func:`audit_log`). ``texts``: decisions shared with other batches of the same run.
    """
    policy = policy or load_policy()
    if not isinstance(messages["sent_at"].dtype, pd.DatetimeTZDtype) or set(MESSAGE_COLUMNS) - set(messages.columns):
        messages = canonical_messages(messages, "(messages frame)", policy)
    frame = messages
    stages = {
        "resolve": partial(resolve, registry=registry, policy=policy),
        "classify": partial(texts.classify if texts is not None else classify, policy=policy),
        "decide": partial(decide, policy=policy),
    }
    with tqdm(total=len(stages), desc="audit", unit="stage", disable=not progress, leave=False) as bar:
        for name, stage in stages.items():
            bar.set_postfix_str(name)
            frame = stage(frame)
            bar.update()
    frame = pd.concat([frame, identify(frame)], axis=1)
    # SPEC §5: evidence, finding and review columns, the subject, in that order after its own
    columns = [*VERDICT_COLUMNS, *(EVIDENCE_COLUMNS if evidence else ()), *FINDING_COLUMNS, *(("subject",) if evidence else ())]
    return frame[columns].reset_index(drop=True)


@dataclass(frozen=True)
class AuditRun:
    """An audit of files: the verdicts, the rows the readers rejected, and how many rows were read
    (= verdicts + rejected + identical copies removed), with the warnings raised on the way."""

    verdicts: pd.DataFrame
    rejected: pd.DataFrame
    rows_read: int
    duplicates: int = 0
    warnings: tuple[str, ...] = ()
    matched: frozenset[str] = frozenset()  # ids of review decisions that named one of the verdicts


def run_audit(
    message_paths: Iterable[str | Path],
    registry_dir: str | Path,
    policy: Policy | None = None,
    evidence: bool = False,
    progress: bool = False,
    reader_options: Mapping[str, object] | None = None,
    strict: bool = False,
    mask_key: bytes | None = None,
    decisions: pd.DataFrame | None = None,
) -> AuditRun:
    """Read message logs and a registry folder and audit them; rows read = verdicts + rejected
    + identical copies removed.

    ``reader_options`` go to the readers that take them (``customer_ids`` for Graph service
    communications, which address a tenant, not a mailbox). ``strict``: the first rejected row
    is an InputError. ``mask_key``: recipients masked in verdicts and rejected rows (:mod:`privacy`).
    ``decisions``: review decisions (:mod:`review_decisions`) shown on the rows they name.
    """
    policy = policy or load_policy()
    with collect_input_warnings() as found:
        registry = read_registry(registry_dir, policy)
    log = read_log(message_paths, policy, reader_options)
    run = audit_log(log, registry, policy, evidence=evidence, progress=progress, strict=strict, mask_key=mask_key,
                    decisions=decisions)
    return replace(run, warnings=tuple(found) + run.warnings)


def audit_log(
    log: MessageLog,
    registry: Registry,
    policy: Policy,
    evidence: bool = False,
    progress: bool = False,
    strict: bool = False,
    mask_key: bytes | None = None,
    texts: DecidedTexts | None = None,
    decisions: pd.DataFrame | None = None,
) -> AuditRun:
    """Audit what the readers made of an input (all of it, or one batch of it: engines call this per
    batch, sharing ``texts`` so a text is classified once per run). ``decisions``: review decisions,
    applied row by row, so per batch as well as whole; the run says which of their ids it met."""
    if strict:
        raise_first_rejection(log.rejected)
    verdicts, rejected = audit(log.messages, registry, policy, evidence=evidence, progress=progress, texts=texts), log.rejected
    if mask_key is not None:
        verdicts, rejected = mask_recipients(verdicts, mask_key), mask_recipients(rejected, mask_key)
    if decisions is None:
        return AuditRun(verdicts, rejected, log.rows_read, log.duplicates, log.warnings)
    return AuditRun(apply_decisions(verdicts, decisions), rejected, log.rows_read, log.duplicates, log.warnings,
                    matched_ids(verdicts, decisions))


def audit_files(message_paths: Iterable[str | Path], registry_dir: str | Path, **options) -> pd.DataFrame:
    """The verdicts of :func:`run_audit` (which takes the same ``options``); warns when rows
    were rejected, since only ``run_audit`` returns them."""
    run = run_audit(message_paths, registry_dir, **options)
    if len(run.rejected):
        warnings.warn(f"{len(run.rejected)} input rows were rejected; run_audit() returns them", stacklevel=2)
    return run.verdicts

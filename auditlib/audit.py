"""The audit: read → resolve → classify → decide, one verdict row per message row (SPEC §5)."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Iterable

import pandas as pd
from tqdm.auto import tqdm

from .classify import classify
from .decide import decide
from .policy import Policy, load_policy
from .readers import canonical_messages, read_messages
from .registry import Registry, read_registry
from .resolve import resolve
from .schema import MESSAGE_COLUMNS, VERDICT_COLUMNS

EVIDENCE_COLUMNS = ("topic_evidence", "topic_confidence", "product_evidence")


def audit(
    messages: pd.DataFrame,
    registry: Registry,
    policy: Policy | None = None,
    evidence: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Verdicts for a canonical message frame, in input order.

    ``messages`` may come from :func:`read_messages` or be built by hand (text columns;
    it is validated and normalised here if ``sent_at`` is not yet a UTC timestamp).
    With ``evidence`` the classifier's matched terms and confidence are kept as extra
    columns after the SPEC §5 ones.
    """
    policy = policy or load_policy()
    if not isinstance(messages["sent_at"].dtype, pd.DatetimeTZDtype) or set(MESSAGE_COLUMNS) - set(messages.columns):
        messages = canonical_messages(messages, "(messages frame)", policy)
    frame = messages
    stages = {
        "resolve": partial(resolve, registry=registry, policy=policy),
        "classify": partial(classify, policy=policy),
        "decide": partial(decide, policy=policy),
    }
    with tqdm(total=len(stages), desc="audit", unit="stage", disable=not progress, leave=False) as bar:
        for name, stage in stages.items():
            bar.set_postfix_str(name)
            frame = stage(frame)
            bar.update()
    columns = list(VERDICT_COLUMNS) + (list(EVIDENCE_COLUMNS) if evidence else [])
    return frame[columns].reset_index(drop=True)


def audit_files(
    message_paths: Iterable[str | Path],
    registry_dir: str | Path,
    policy: Policy | None = None,
    evidence: bool = False,
    progress: bool = False,
) -> pd.DataFrame:
    """Read message logs and a registry folder, and audit them."""
    policy = policy or load_policy()
    registry = read_registry(registry_dir, policy)
    return audit(read_messages(message_paths, policy), registry, policy, evidence=evidence, progress=progress)

"""The registry folder (SPEC §2.2): three CSV files read into a validated :class:`Registry`, or
written from one built elsewhere (Partner Center exports)."""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from typing import Protocol

from ..errors import InputError, InputWarning
from ..policy import Policy
from ..registry import REGISTRY_FILES, Registry, fail_at
from .atomic import Replacement, os_errors
from .formats import REJECT_REASON
from .formats.canonical import read_csv


def read_registry(folder: str | Path, policy: Policy | None = None) -> Registry:
    """Read and validate ``partners.csv``, ``customers.csv`` and ``agreements.csv`` from a folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), "registry folder not found")
    paths = [folder / name for name in REGISTRY_FILES]
    others = sorted(p.name for p in folder.iterdir() if p.name not in REGISTRY_FILES and not p.name.startswith("."))
    for path in paths:
        if not path.is_file():
            found = f" (the folder holds: {', '.join(others)})" if others else ""
            raise InputError(str(path), f"registry file missing{found}")
    for name in others:
        warnings.warn(InputWarning(f"{folder / name}: not a registry file, not read (a registry is {', '.join(REGISTRY_FILES)})"),
                      stacklevel=2)
    frames = [_registry_table(path) for path in paths]
    if frames[2].empty:
        raise InputError(str(paths[2]), "no agreements (only a header): without them no customer is a CSP customer")
    return Registry.from_frames(*frames, policy=policy, names=tuple(str(p) for p in paths))


def _registry_table(path: Path) -> pd.DataFrame:
    """A registry CSV; a row the reader would reject (a ragged row) is an error: the registry decides every verdict."""
    frame = read_csv(path)
    if REJECT_REASON in frame:
        reason = frame.pop(REJECT_REASON)
        fail_at(reason.notna(), str(path), None, lambda r: reason.iloc[r])
    return frame


class RegistryTables(Protocol):
    """What a registry folder is written from: a Partner Center build, or generated data."""

    partners: pd.DataFrame
    customers: pd.DataFrame
    agreements: pd.DataFrame


def write_registry(build: RegistryTables, folder: str | Path, overwrite: bool = False) -> list[Path]:
    """Write partners.csv, customers.csv and agreements.csv into ``folder``; an existing file is
    replaced only with ``overwrite`` (a hand-kept registry is not lost by accident)."""
    folder = Path(folder)
    paths = [folder / name for name in REGISTRY_FILES]
    for path in paths:
        if path.exists() and not overwrite:
            raise InputError(str(path), "already exists (replace it with --force)")
    with Replacement() as files:  # all three files or none
        for frame, path in zip((build.partners, build.customers, build.agreements), paths):
            with os_errors(path):
                frame.to_csv(files.stage(path), index=False)
    return paths

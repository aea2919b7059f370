"""Labelled texts (the classifier's corpus and evaluation sets) as files."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError


def read_labelled_files(path: str | Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A labelled ``.csv`` or ``.jsonl`` file, or every ``.csv`` of a folder, with ``columns``
    and ``source_kind`` as text (a file without ``source_kind`` takes its ``source_repo``,
    else its own name) and ``note`` where there is one."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise InputError(str(path), "the folder holds no labelled .csv file")
        return pd.concat([read_labelled_files(f, columns) for f in files], ignore_index=True)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        frame = pd.read_json(path, lines=True, dtype=False)
    else:
        frame = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(str(path), f"labelled file lacks column(s) {', '.join(missing)}", column=missing[0])
    if "source_kind" not in frame.columns:
        frame["source_kind"] = frame["source_repo"] if "source_repo" in frame.columns else path.stem
    text = list(columns) + ["source_kind"]
    return frame[text + [c for c in ("note",) if c in frame.columns]].astype({c: "str" for c in text}).fillna("")

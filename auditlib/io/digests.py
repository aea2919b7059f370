"""Inputs cited by SHA-256: manifests and report footers name every file read by its digest."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_digests(paths: Iterable[str | Path]) -> dict[str, str]:
    """``{path: sha256}`` for each input file, in the order given."""
    return {str(p): sha256_file(p) for p in paths}

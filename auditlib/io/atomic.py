"""Writes that never leave half a file.

Every output is written under a hidden name in its own folder and renamed into place only
once complete (a rename within a folder is atomic), so a killed or failed run leaves the
previous complete file or none. Files that belong together (verdicts, their rejected rows,
their manifest) are staged together and renamed only when all were written. A rename
replaces a symbolic link rather than writing through it, so no write follows a link.
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import OutputError

_REASONS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied", errno.EROFS: "read-only file system",
            errno.EISDIR: "is a folder, not a file", errno.ENOTDIR: "a file stands where a folder should be"}


@contextmanager
def os_errors(path: Path) -> Iterator[None]:
    """An operating-system failure while writing ``path`` as one :class:`OutputError` line."""
    try:
        yield
    except OSError as err:
        reason = _REASONS.get(err.errno, err.strerror or str(err))
        raise OutputError(str(unstaged(Path(err.filename or path))), f"cannot write: {reason}") from None


_STAGED = re.compile(r"^\.[0-9a-f]{8}-")


def staging(path: Path) -> Path:
    """A hidden sibling of ``path`` (same folder, so the rename is atomic; same suffix, so the
    writer is chosen alike) to write before it is renamed into place."""
    return path.with_name(f".{secrets.token_hex(4)}-{path.name}")


def unstaged(path: Path) -> Path:
    """The name a staged file will have (what a message about it should say)."""
    return path.with_name(_STAGED.sub("", path.name, count=1))


def writable(path: Path, folder_ok: bool = False) -> Path:
    """``path`` once its folder exists (the folder may be reached through a link; the file is
    never written through one); refuses a folder where a file goes (unless ``folder_ok``)."""
    folder(path.parent.resolve())
    if not folder_ok and path.is_dir() and not path.is_symlink():
        raise OutputError(str(path), "is a folder, not a file")
    return path


def folder(path: Path) -> Path:
    """A folder to write into, created if missing; refuses a file or a symbolic link in its place."""
    if path.is_symlink():
        raise OutputError(str(path), "is a symbolic link; auditlib writes only into real folders")
    if path.exists() and not path.is_dir():
        raise OutputError(str(path), "a file stands where a folder should be")
    with os_errors(path):
        path.mkdir(parents=True, exist_ok=True)
    return path


def sweep(folder: Path) -> None:
    """Remove what a killed writer left staged in ``folder`` (call it holding the folder's lock)."""
    for leftover in folder.glob(".????????-*"):
        _remove(leftover)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class Replacement:
    """Files staged under hidden names and renamed into place together, only when all were
    written; a stale file that the new set does not include is removed at the same moment.

    Use as a context manager: a clean exit commits, an exception discards what was staged.
    """

    def __init__(self) -> None:
        self.moves: list[tuple[Path | None, Path]] = []  # (staged, final); staged None: remove final

    def stage(self, path: str | Path, folder_ok: bool = False) -> Path:
        """Where to write what will become ``path`` (a file; or a folder, with ``folder_ok``)."""
        path = writable(Path(path), folder_ok)
        temp = staging(path)
        self.moves.append((temp, path))
        return temp

    def write_text(self, path: str | Path, text: str) -> None:
        """A UTF-8 text file of the set, staged now and renamed into place with the others."""
        with os_errors(Path(path)):
            self.stage(path).write_text(text, encoding="utf-8")

    def drop(self, path: str | Path) -> None:
        """Remove ``path`` on commit (a file of the previous run the new one does not write)."""
        self.moves.append((None, Path(path)))

    def commit(self) -> None:
        for temp, path in self.moves:
            with os_errors(path):
                if temp is None:
                    _remove(path)
                elif path.is_dir() and not path.is_symlink():  # a folder output: swap, then drop the old one
                    old = staging(path)
                    os.replace(path, old)
                    os.replace(temp, path)
                    _remove(old)
                else:
                    os.replace(temp, path)
        self.moves.clear()

    def discard(self) -> None:
        for temp, _ in self.moves:
            if temp is not None:
                _remove(temp)
        self.moves.clear()

    def __enter__(self) -> "Replacement":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """One file written atomically: yields where to write it, then renames it into place."""
    with Replacement() as files:
        temp = files.stage(path)
        with os_errors(Path(path)):
            yield temp


def write_text(path: str | Path, text: str) -> None:
    """A UTF-8 text file, written atomically."""
    with replacing(path) as temp:
        temp.write_text(text, encoding="utf-8")


def refuse_inputs(outputs: Iterable[Path], inputs: Iterable[Path]) -> None:
    """An output that is an input, lies inside an input folder or holds an input (an output
    folder) would destroy or pollute it."""
    inputs = [Path(p).resolve() for p in inputs]
    for output in outputs:
        target = Path(output).resolve()
        for given in inputs:
            if target == given:
                raise OutputError(str(output), f"is the input {given}")
            if given in target.parents:
                raise OutputError(str(output), f"lies inside the input folder {given}")
            if target in given.parents:
                raise OutputError(str(output), f"holds the input {given}")

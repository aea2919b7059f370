"""One writer per report folder: two runs writing one folder would mix their files."""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..errors import OutputError
from .atomic import os_errors

LOCK_FILE = ".auditlib.lock"


@contextmanager
def locked(folder: Path, holder: str = "another auditlib report") -> Iterator[None]:
    """Hold ``folder``'s lock for the block; refuses at once when another run holds it (``holder``
    says who that would be). The operating system releases it when the process ends, however it ends."""
    path = folder / LOCK_FILE
    with os_errors(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(str(folder), f"{holder} is writing this folder") from None
        yield
    finally:
        os.close(fd)

"""Worker processes that never outlive the run: each dies with its parent (Linux
``PR_SET_PDEATHSIG``), and :func:`stop` kills them on SIGTERM or SIGINT. Their notebook
kernels watch their parent (ipykernel's parent poller) and exit with it."""
from __future__ import annotations

import ctypes
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Iterator


class Interrupted(Exception):
    """The run received SIGTERM or SIGINT."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides


def pool(jobs: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=get_context("spawn"), initializer=_die_with_parent)


def stop(executor: ProcessPoolExecutor) -> None:
    """Kill the workers now (their kernels follow) and cancel what has not started."""
    for process in list((executor._processes or {}).values()):  # the executor offers no public kill
        if process.is_alive():
            process.kill()
    executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`Interrupted` in the block, so the run can stop its
    workers and write what finished; the previous handlers are restored after."""
    def handler(signum, frame):
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)

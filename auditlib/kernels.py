"""The kernels that run the report notebooks: this interpreter's ipykernel, one kept per worker.

Starting a kernel and importing pandas, plotly and auditlib in it cost more than most partners'
reports, so each worker process keeps one kernel and runs its notebooks in it one after the
other (a papermill engine, :class:`KeptKernelEngine`). Before a notebook's first cell the
kernel's namespace is emptied (``%reset -f``), so a page can see nothing of the notebook before
it; a kernel that died or failed is replaced by a fresh one for the next notebook.
"""
from __future__ import annotations

import atexit
import subprocess

from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from traitlets import default

ENGINE = "auditlib-kept-kernel"


class InterpreterKernelSpecs(KernelSpecManager):
    """Every kernel name resolves to this interpreter's ipykernel: a user-level ``python3``
    kernelspec pointing at another Python (without auditlib) must not run the reports."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        from ipykernel.kernelspec import RESOURCES, get_kernel_dict

        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())


class InterpreterKernelManager(AsyncKernelManager):
    """papermill's kernel manager, on :class:`InterpreterKernelSpecs`, with CurveZMQ keys when
    the kernel supports them (ipykernel warns about plain TCP; IPC sockets collide in parallel)."""

    @default("kernel_spec_manager")
    def _interpreter_specs(self) -> KernelSpecManager:
        return InterpreterKernelSpecs(data_dir=self.data_dir)

    @default("transport_encryption")
    def _encrypt_when_supported(self) -> str:
        return "auto"

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
        """Kernel stderr is discarded: its shutdown notices ("KeyboardInterrupt caught in kernel")
        are noise on the run's stderr; a failing cell still fails the report with its error."""
        await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": subprocess.DEVNULL})


_kept: list[InterpreterKernelManager] = []  # this process's kernel, started by its first notebook


def kept_kernel() -> InterpreterKernelManager:
    if not _kept:
        _kept.append(InterpreterKernelManager(kernel_name="python3"))
        atexit.register(discard_kernel)  # the worker's exit takes its kernel along (it also watches its parent)
    return _kept[0]


def discard_kernel() -> None:
    """Shut the kept kernel down (at exit, or after it failed): the next notebook starts a new one."""
    atexit.unregister(discard_kernel)
    while _kept:
        manager = _kept.pop()
        if manager.has_kernel:
            run_sync(manager.shutdown_kernel)(now=True)


class _KeptKernelClient(PapermillNotebookClient):
    """papermill's client on a kernel it does not own: namespace emptied before the first cell,
    channels closed after the last, the kernel left running for the next notebook."""

    def papermill_execute_cells(self) -> None:
        reply = self.wait_for_reply(self.kc.execute("%reset -f", silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError("the kept kernel could not empty its namespace")
        super().papermill_execute_cells()

    def execute(self, **kwargs):
        try:
            return super().execute(**kwargs)
        finally:
            if self.kc is not None:
                self.kc.stop_channels()
                self.kc = None


class KeptKernelEngine(NBClientEngine):
    """papermill's nbclient engine on this process's kept kernel."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, **kwargs):
        client = _KeptKernelClient(nb_man, km=kept_kernel(), kernel_name=kernel_name, timeout=execution_timeout,
                                   startup_timeout=start_timeout, log=logger, log_output=log_output,
                                   stdout_file=stdout_file, stderr_file=stderr_file)
        try:
            return client.execute()
        except BaseException:  # a dead or stuck kernel is not kept
            discard_kernel()
            raise


def register_engine() -> str:
    """Register :class:`KeptKernelEngine` with papermill (explicitly, not on import); its name."""
    papermill_engines.register(ENGINE, KeptKernelEngine)
    return ENGINE

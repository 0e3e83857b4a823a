"""Where parser jobs run: a pool of worker processes driven from trio (see ``_worker_job``), or
a Dask cluster (:class:`DaskPool`, the optional ``dask`` extra). Both have ``run(job)``,
``size`` and ``aclose()``.

Each worker handles one chunk at a time over its stdin/stdout pipes. A job that is cancelled
(or times out) kills its worker, which is replaced on the next job; closing the pool kills them
all. Workers are plain subprocesses running ``_worker_job.serve`` (see ``WORKER_PROGRAM``): they never
re-import the caller's ``__main__``, so scripts need no ``if __name__ == "__main__"`` guard.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from typing import Any

import trio

from ..runtime._exceptions import ScopeError

_LENGTH = struct.Struct(">Q")

#: A worker's program: the same scope_ext as ours (its folder first on the path), of which it
#: imports only ``_worker_job`` and the parser modules (the package's imports are lazy).
_PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER_PROGRAM = (
    f"import sys; sys.path.insert(0, {_PACKAGE_PARENT!r}); from scope_ext.code._worker_job import serve; serve()"
)


class WorkerFailed(ScopeError):
    """A worker process died or answered something that is not a result."""


class _Worker:
    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.buffer = bytearray()

    async def run(self, job: Any) -> Any:
        payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        assert self.process.stdin is not None
        await self.process.stdin.send_all(_LENGTH.pack(len(payload)) + payload)
        size = _LENGTH.unpack(await self._read(_LENGTH.size))[0]
        result = pickle.loads(await self._read(size))
        if isinstance(result, BaseException):
            raise WorkerFailed(f"a parser worker raised {result!r}") from result
        return result

    async def _read(self, size: int) -> bytes:
        stdout = self.process.stdout
        assert stdout is not None
        while len(self.buffer) < size:
            chunk = await stdout.receive_some(max(65536, size - len(self.buffer)))
            if not chunk:
                raise WorkerFailed(f"a parser worker exited (code {self.process.poll()})")
            self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


class WorkerPool:
    """Up to ``size`` workers; :meth:`run` sends a job to an idle one, starting it if needed."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a worker pool needs at least one worker, not {size}")
        self.size = size
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._free = trio.Semaphore(size)

    @property
    def workers(self) -> int:
        """Worker processes alive now."""
        return len(self._idle) + len(self._busy)

    def pids(self) -> list[int]:
        """The process ids of the workers alive now."""
        return sorted(w.process.pid for w in (*self._idle, *self._busy))

    async def run(self, job: Any) -> Any:
        """Run one job in a worker; cancelling this kills that worker."""
        async with self._free:
            worker = self._idle.pop() if self._idle else await self._start()
            self._busy.add(worker)
            try:
                result = await worker.run(job)
            except BaseException:
                self._busy.discard(worker)
                worker.kill()  # mid-job: its pipes hold half a message, it cannot be reused
                with trio.CancelScope(shield=True):
                    await worker.process.wait()
                raise
            self._busy.discard(worker)
            self._idle.append(worker)
            return result

    async def warm(self) -> None:
        """Start idle workers up to ``size`` (each takes a moment to import)."""
        while self.workers < self.size:
            async with self._free:
                if self.workers < self.size:
                    self._idle.append(await self._start())

    async def _start(self) -> _Worker:
        # A session of its own: Ctrl-C in the kernel (SIGINT to its process group) is not for workers.
        process = await trio.lowlevel.open_process(
            [sys.executable, "-c", WORKER_PROGRAM],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        return _Worker(process)

    async def aclose(self) -> None:
        """Kill every worker and wait for them."""
        workers = [*self._idle, *self._busy]
        self._idle.clear()
        self._busy.clear()
        with trio.CancelScope(shield=True):
            for worker in workers:
                if worker.process.stdin is not None:
                    await worker.process.stdin.aclose()
                worker.kill()
                await worker.process.wait()


class DaskPool:
    """Jobs on a Dask cluster at ``address``: every job runs ``_worker_job.run_job`` on a Dask
    worker, so the workers need scope_ext installed and the indexed files at the same paths."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._client: Any = None
        self.size = 1

    async def _connect(self) -> Any:
        if self._client is None:
            try:
                from distributed import Client
            except ImportError:
                raise WorkerFailed("parsing on Dask needs the dask extra: pip install 'scope_ext[dask]'") from None

            def connect() -> Any:
                return Client(self.address, timeout=3, set_as_default=False)

            try:
                self._client = await trio.to_thread.run_sync(connect)
            except OSError as exc:
                raise WorkerFailed(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
            self.size = max(1, sum((await trio.to_thread.run_sync(self._client.nthreads)).values()))
        return self._client

    async def run(self, job: Any) -> Any:
        """Run one job on the cluster; cancelling this cancels the Dask future."""
        from ._worker_job import run_job

        client = await self._connect()
        future = client.submit(run_job, job, pure=False)
        try:
            return await trio.to_thread.run_sync(future.result, abandon_on_cancel=True)
        finally:
            if not future.done():
                future.cancel()

    async def aclose(self) -> None:
        """Disconnect (the cluster itself keeps running)."""
        if self._client is not None:
            client, self._client = self._client, None
            await trio.to_thread.run_sync(client.close)

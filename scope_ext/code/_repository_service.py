"""The repository service: the one writer of the code index."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from ..runtime._service import Service
from ._analysis import resolve_imports
from ._repository import Repository, read_flows
from ._requests import _Bulk, _Flows, _Forget, _Known, _Reserve, _Resolve, _Resolved, _Write

if TYPE_CHECKING:
    from ._layer import CodeLayer


class RepositoryService(Service):
    """Owns the index writer; serializes writes (in a worker thread) in mailbox order."""

    async def init(self, layer: CodeLayer) -> None:
        self.layer = layer
        self.repo = await trio.to_thread.run_sync(Repository, layer.index_uri, layer.root)
        self.bulk = False
        #: The module names when imports were last resolved (None: not since this service started).
        self.resolved_names: set[str] | None = None

    async def handle_call(self, request: Any, caller: Any) -> Any:
        kind = type(request)
        if kind is _Write:
            written = await trio.to_thread.run_sync(self.repo.write, request.batch)
        elif kind is _Forget:
            written = await trio.to_thread.run_sync(self.repo.forget, request.paths)
        elif kind is _Known:
            return await trio.to_thread.run_sync(self.repo.known)
        elif kind is _Flows:
            return await trio.to_thread.run_sync(read_flows, self.repo.conn)
        elif kind is _Resolved:
            written = await trio.to_thread.run_sync(self.repo.load_resolution, request.path)
        elif kind is _Reserve:
            return self.repo.reserve(request.files)
        elif kind is _Bulk:
            if request.starting:
                self.bulk = await trio.to_thread.run_sync(self.repo.begin_bulk)
            elif self.bulk:
                await trio.to_thread.run_sync(self.repo.end_bulk)
                self.bulk = False
            return self.bulk
        elif kind is _Resolve:
            counts = await trio.to_thread.run_sync(self._resolve, request.paths)
            self.layer.changed()
            return counts
        else:
            return Service.handle_call(self, request, caller)
        self.layer.changed()
        return written

    def _resolve(self, paths: list[str] | None) -> dict[str, int]:
        """Resolve the imports of the modules at ``paths`` (None: all). When a module came or went
        since the last resolution, every module's imports are resolved again: ``from pkg import
        x`` elsewhere now means (or no longer means) the module ``pkg.x``."""
        conn = self.repo.conn
        with conn:
            conn.execute("BEGIN")
            names = {name for (name,) in conn.execute("SELECT name FROM modules")}
            if names != self.resolved_names:
                paths = None
            counts = {"imports": resolve_imports(conn, paths)}
        self.resolved_names = names
        return counts

    async def terminate(self, reason: Any) -> None:
        await trio.to_thread.run_sync(self.repo.close)

"""The sync service: watches the root and re-indexes what changed."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..runtime._service import Service, call
from ._requests import _Index

if TYPE_CHECKING:
    from ._layer import CodeLayer


class SyncService(Service):
    """Watches the root (watchfiles) and re-indexes what changed, a debounced batch at a time.

    ``.gitignore`` edits reload the file filter; created, modified, deleted and renamed files are
    re-indexed incrementally (a rename is a deletion and a creation); a folder that appears, moves
    or is renamed makes a full incremental run.
    """

    def init(self, layer: CodeLayer) -> None:
        self.layer = layer
        self.start_soon(self._watch)

    async def _watch(self) -> None:
        """Watch until stopped; when watchfiles fails on a path it cannot decode (a file name that
        is not UTF-8), watch again and catch up with a full incremental run."""
        from watchfiles._rust_notify import WatchfilesRustInternalError

        while True:
            try:
                await self._follow_changes()
                return
            except* WatchfilesRustInternalError as group:
                failure = str(group.exceptions[0])
            self.layer.foundation.report("scope.code.sync.restarted", {"reason": failure})
            await self._index(None)

    async def _follow_changes(self) -> None:
        from watchfiles import awatch

        layer = self.layer
        config = layer.foundation.config
        async for changes in awatch(
            layer.root,
            debounce=config.get(("code", "sync", "debounce_ms")),
            step=config.get(("code", "sync", "step_ms")),
            recursive=True,
        ):
            paths = sorted({path for _, path in changes})
            wanted: list[str] | None
            if any(os.path.basename(p) == ".gitignore" for p in paths):
                layer.files = layer.files.reloaded()
                wanted = None  # what is indexed may have changed anywhere: a full (incremental) run
            elif any(os.path.isdir(p) for p in paths):
                wanted = None  # a folder came, moved or was renamed: its files are not listed one by one
            else:
                wanted = [p for p in paths if layer.files.wants(os.path.relpath(p, layer.root))]
            layer.foundation.report(
                "scope.code.change.seen", {"paths": len(paths), "indexed": "all" if wanted is None else len(wanted)}
            )
            if wanted is None or wanted:
                await self._index(wanted)

    async def _index(self, paths: list[str] | None) -> None:
        run = await call(self.layer.namespace.via("code.parser"), _Index(paths), None)
        await run.wait()

"""The analysis service: resolution after index runs, and graph questions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from ..runtime._service import Service, call
from ._analysis import cycles, module_graph, unused_functions
from ._requests import _Ask, _Resolve

if TYPE_CHECKING:
    from ._layer import CodeLayer


class AnalysisService(Service):
    """Resolves imports and calls after index runs; answers graph questions (cycles, unused)."""

    def init(self, layer: CodeLayer) -> None:
        self.layer = layer

    async def handle_call(self, request: Any, caller: Any) -> Any:
        if type(request) is _Resolve:
            return await call(self.layer.namespace.via("code.repository"), request, None)
        if type(request) is _Ask:
            kind, prefix = request.text.split(":", 1)
            return await trio.to_thread.run_sync(self._read, kind, prefix)
        return Service.handle_call(self, request, caller)

    def _read(self, kind: str, prefix: str) -> list[tuple[Any, ...]]:
        conn = self.layer._reader()
        try:
            if kind == "cycles":
                return [(i + 1, " -> ".join(cycle)) for i, cycle in enumerate(cycles(module_graph(conn)))]
            return unused_functions(conn, prefix)
        finally:
            conn.close()

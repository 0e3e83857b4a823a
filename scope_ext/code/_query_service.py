"""The query service: compiles questions in the query language and caches their answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._result_table import QueryResult
from ..runtime._process import Refused
from ..runtime._service import Service, call
from ._errors import CodeError
from ._query_language import QueryError, compile_query
from ._requests import _Ask

if TYPE_CHECKING:
    from ._layer import CodeLayer


class QueryService(Service):
    """Compiles and runs queries; caches results until the index version changes."""

    def init(self, layer: CodeLayer) -> None:
        self.layer = layer
        self.cache: dict[str, tuple[int, QueryResult]] = {}

    async def handle_call(self, request: Any, caller: Any) -> Any:
        if type(request) is not _Ask:
            return Service.handle_call(self, request, caller)
        text = request.text.strip()  # as asked: spacing inside quoted values is part of the value
        cached = self.cache.get(text)
        if cached is not None and cached[0] == self.layer.version:
            return cached[1]
        version = self.layer.version
        try:  # a question the index cannot answer is the asker's error, not the service's crash
            compiled = compile_query(text)
            if compiled.kind == "sql":
                table = await self.layer.table(compiled.sql, compiled.params)
                rows, truncated = table.rows, table.truncated  # a cut answer says so
            else:
                question = _Ask(f"{compiled.kind}:{' '.join(compiled.params)}")  # names hold no spaces
                rows, truncated = await call(self.layer.namespace.via("code.analysis"), question, None), False
        except (QueryError, CodeError) as exc:
            return Refused(exc)
        result = QueryResult(text, compiled.columns, rows, truncated)
        if len(self.cache) > 256:
            self.cache.clear()
        self.cache[text] = (version, result)
        return result

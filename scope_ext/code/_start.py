"""Starting the code layer of a namespace: its supervisor and services."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence

from ..foundation_layer._foundation import find_foundation
from ..runtime._exceptions import NamespaceError
from ..runtime._namespace import Namespace
from ..runtime._runtime import namespace_of
from ..runtime._supervisor import ChildSpec, Supervisor
from ..runtime._task_supervisor import TaskSupervisor
from ._analysis_service import AnalysisService
from ._errors import CodeError
from ._files import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, FileFilter
from ._layer import CodeLayer, find_code_layer
from ._parser_service import ParserService
from ._query_service import QueryService
from ._repository_service import RepositoryService
from ._settings import CODE_SETTINGS
from ._sync_service import SyncService


async def start_code_layer(
    namespace: Namespace | str | None,
    root: str | os.PathLike[str],
    *,
    index_path: str | os.PathLike[str] | None = None,
    include: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    watch: bool = False,
    dask: str | None = None,
) -> CodeLayer:
    """Start the code layer for ``root`` in a namespace that has its Foundation.

    ``index_path`` is the SQLite file (None: in memory); ``include`` / ``exclude`` are gitignore-style
    globs added to ``*.py`` and the usual excluded folders, and ``.gitignore`` is honoured. With
    ``watch``, a sync service re-indexes files as they change. ``dask`` (a scheduler address) parses
    on that Dask cluster instead of local worker processes (it sets ``code.parser.dask``).
    """
    ns = namespace_of(namespace)
    foundation = find_foundation(ns)
    if foundation is None:
        raise NamespaceError(f"namespace {ns.name!r} needs its Foundation before the code layer")
    if find_code_layer(ns) is not None:
        raise NamespaceError(f"namespace {ns.name!r} already has a code layer")
    root = os.path.abspath(os.fspath(root))
    if not os.path.isdir(root):
        raise CodeError(f"cannot index {root}: not a folder")
    files = FileFilter(root, include or DEFAULT_INCLUDE, (*DEFAULT_EXCLUDE, ".scope_ext/", *(exclude or ())))
    await foundation.config.extend(CODE_SETTINGS)
    if dask is not None:
        await foundation.config.update("code.parser.dask", dask)
    layer = CodeLayer(ns, foundation, root, None if index_path is None else os.fspath(index_path), files, watch)
    foundation.register_cache("code.trees", layer.trees)
    if layer.index_path is None:  # a shared in-memory database lives while one connection is open
        layer._keepalive = sqlite3.connect(layer.index_uri, uri=True, check_same_thread=False)
    specs = [
        ChildSpec("code.repository", RepositoryService, (layer,), name="code.repository"),
        ChildSpec("code.tasks", TaskSupervisor, (), name="code.tasks"),
        ChildSpec("code.parser", ParserService, (layer,), name="code.parser"),
        ChildSpec("code.analysis", AnalysisService, (layer,), name="code.analysis"),
        ChildSpec("code.query", QueryService, (layer,), name="code.query"),
    ]
    if watch:
        specs.append(ChildSpec("code.sync", SyncService, (layer,), name="code.sync"))
    await ns.start_child(ChildSpec("code", Supervisor, (specs, "rest_for_one", 10, 5.0)))
    ns.layers["code"] = layer
    return layer

"""Namespaces: isolated worlds of processes and names (``production`` and any test or scratch one).

Each namespace has its own root supervisor, its own ``names`` registry and any further registries
it creates. Nothing registered in one is visible from another; dropping one stops everything in it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import trio

from ._exceptions import NamespaceError
from ._process import Node, Process
from ._registry import Keys, Registry, Via
from ._supervisor import ChildSpec, Restart, ShutdownTime, StartFn, start_child


class Namespace:
    """One isolated namespace; get it from :meth:`Runtime.namespace`."""

    def __init__(self, runtime: Node, name: str) -> None:
        self.runtime = runtime
        self.name = name
        self.names = Registry("names", self, "unique")
        self._registries: dict[str, Registry] = {"names": self.names}
        self.root: Process | None = None
        self.dropped = False
        self._dropping: trio.Event | None = None  # set while a drop runs; others wait on it
        #: Live processes in this namespace (kept by Process itself).
        self.process_count = 0
        #: Handles the layers above keep here, by layer name (e.g. the Foundation's): the runtime
        #: only holds them, so it knows nothing of those layers.
        self.layers: dict[str, Any] = {}
        self._drop_hooks: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"<Namespace {self.name!r} {self.status}>"

    @property
    def status(self) -> str:
        """``running``; ``down`` when its root supervisor exited; ``dropped`` once dropped."""
        if self.dropped:
            return "dropped"
        return "running" if self.root is not None and self.root.alive else "down"

    def registry(self, name: str, keys: Keys = "unique") -> Registry:
        """The registry called ``name`` here, created on first use with ``keys``."""
        found = self._registries.get(name)
        if found is None:
            found = self._registries[name] = Registry(name, self, keys)
        elif found.keys != keys:
            raise ValueError(f"registry {name!r} in {self.name!r} has {found.keys} keys, not {keys}")
        return found

    def registries(self) -> list[Registry]:
        """Every registry of this namespace."""
        return list(self._registries.values())

    def via(self, key: Hashable) -> Via:
        """A name for the process registered as ``key`` here."""
        return Via(self.names, key)

    def whereis(self, key: Hashable) -> Process | None:
        """The process registered as ``key`` here, or None."""
        return self.names.whereis(key)

    def processes(self) -> list[Process]:
        """Every live process of this namespace."""
        return [p for p in self.runtime._processes.values() if p.namespace is self]

    async def start_child(self, spec: ChildSpec) -> Process:
        """Start ``spec`` under this namespace's root supervisor."""
        assert self.root is not None
        return await start_child(self.root, spec)

    async def start(
        self,
        start: StartFn,
        *args: Any,
        id: Hashable | None = None,
        name: Hashable | None = None,
        restart: Restart = "permanent",
        shutdown: ShutdownTime | None = None,
    ) -> Process:
        """Start a service class or async function under the root supervisor.

        ``id`` defaults to ``name``, else to the start function's name.
        """
        child_id = id if id is not None else name if name is not None else getattr(start, "__name__", repr(start))
        spec = ChildSpec(child_id, start, tuple(args), restart=restart, shutdown=shutdown, name=name)
        return await self.start_child(spec)

    def layer(self, name: str, how_to_start: str) -> Any:
        """The handle layer ``name`` keeps here; :class:`NamespaceError` saying ``how_to_start`` it
        if there is none."""
        found = self.layers.get(name)
        if found is None:
            raise NamespaceError(f"namespace {self.name!r} has no {name}; start it with {how_to_start}")
        return found

    def on_drop(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` when the namespace starts to drop, before anything in it stops (so a layer
        can stop accepting work)."""
        self._drop_hooks.append(hook)

    def _clear(self) -> None:
        for registry in self._registries.values():
            registry._clear()

"""pytest plugin (registered as the ``scope_ext`` entry point): isolated namespaces for tests.

``scope_namespace`` gives each test its own namespace with a full Foundation in a session-wide
runtime thread, and drops it afterwards; tests never see each other's services, names, config,
events or metrics, nor production's. Run code in it with ``scope_namespace.run(async_fn, *args)``:
bare service names then resolve in the test's namespace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from .foundation_layer._foundation import Foundation
from .foundation_layer._start import RuntimeThread, cleanup, start_isolated_services
from .runtime._namespace import Namespace
from .runtime._runtime import current_runtime, reset_namespace, use_namespace

T = TypeVar("T")


class IsolatedNamespace:
    """One test's namespace in the shared runtime thread."""

    def __init__(self, thread: RuntimeThread, foundation: Foundation) -> None:
        self.thread = thread
        self.foundation = foundation
        self.namespace: Namespace = foundation.namespace
        self.name = self.namespace.name

    def __repr__(self) -> str:
        return f"<IsolatedNamespace {self.name!r}>"

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` in the runtime thread, with bare names resolving in this namespace."""

        async def scoped() -> T:
            token = use_namespace(self.namespace)
            try:
                return await fn(*args)
            finally:
                reset_namespace(token)

        return self.thread.run(scoped)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the runtime thread, with bare names resolving in this namespace."""

        def scoped() -> T:
            token = use_namespace(self.namespace)
            try:
                return fn(*args)
            finally:
                reset_namespace(token)

        return self.thread.run_sync(scoped)


@pytest.fixture(scope="session")
def scope_runtime() -> Iterator[RuntimeThread]:
    """A runtime on its own thread for the whole test session (production has its Foundation)."""
    thread = RuntimeThread(foundation=True)
    thread.start()
    yield thread
    thread.stop()


@pytest.fixture
def scope_namespace(scope_runtime: RuntimeThread) -> Iterator[IsolatedNamespace]:
    """A fresh namespace with its own Foundation, dropped after the test."""
    foundation = scope_runtime.run(start_isolated_services)
    isolated = IsolatedNamespace(scope_runtime, foundation)
    yield isolated
    scope_runtime.run(cleanup, isolated.name)
    assert isolated.name not in scope_runtime.run_sync(lambda: [ns.name for ns in current_runtime().namespaces()])

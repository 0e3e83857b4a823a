"""Shared helpers: run a test body inside a fresh runtime under plain ``trio.run``; a real kernel."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import scope_ext


@pytest.fixture(autouse=True)
def _quiet_crash_logs() -> Any:
    """Crashes are expected in these tests; they are asserted through reports, not log output."""
    logger = logging.getLogger("scope_ext")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.fixture
def kernel() -> Any:
    """A real IPython kernel (see ``kernel_client.Kernel``), shut down after the test."""
    from kernel_client import Kernel

    k = Kernel()
    yield k
    k.close()


@pytest.fixture
def in_runtime() -> Callable[[Callable[[scope_ext.Runtime], Awaitable[Any]]], Any]:
    """``in_runtime(async_fn)`` runs ``async_fn(runtime)`` in a fresh runtime and returns its result."""
    return scope_ext.run


@pytest.fixture
def project(tmp_path: Any) -> Any:
    """The code layer's small test project (``code_project.PROJECT``) in a fresh folder."""
    from code_project import write_project

    return write_project(tmp_path)


pytest_plugins = ["pytester"]

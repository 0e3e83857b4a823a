"""The requests the code layer's services answer (private to the layer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ._repository import IndexedFile


class _Write(NamedTuple):
    batch: Sequence[tuple[IndexedFile, int]]


class _Reserve(NamedTuple):
    files: int


class _Forget(NamedTuple):
    paths: list[str]


class _Known(NamedTuple):
    pass


class _Bulk(NamedTuple):
    starting: bool  # True before a full run, False after it


class _Resolve(NamedTuple):
    paths: list[str] | None = None  # relative paths of the changed modules; None: all


class _Resolved(NamedTuple):
    path: str  # the file call resolution wrote (see _repository.resolve_into): it replaces all of it


class _Flows(NamedTuple):
    pass


class _Ask(NamedTuple):
    text: str


class _Index(NamedTuple):
    paths: list[str] | None = None  # absolute paths that changed; None: the whole root


class _Grep(NamedTuple):
    pattern: str
    paths: list[str]  # absolute

"""Registries: names for processes within one namespace (the Elixir Registry idea).

A registry holds unique keys (one process per key: service names) or duplicate keys (many
processes per key: pub/sub topics), each entry with a value. Entries vanish when their process
exits. A registry only ever holds processes of its own namespace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterator
from typing import Any, Literal, NamedTuple

from ._exceptions import AlreadyRegistered, MailboxFull, NotRunning
from ._mailbox import INFO
from ._process import Home, Process, current_process

log = logging.getLogger("scope_ext.registry")

Keys = Literal["unique", "duplicate"]
Listener = Callable[[str, Hashable, Process, Any], None]


class _Any:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ANY"


#: Wildcard for :meth:`Registry.match` patterns.
ANY: Any = _Any()


class Via(NamedTuple):
    """A name usable wherever a process is: ``call(registry.via("db"), ...)``."""

    registry: Registry
    key: Hashable

    def __repr__(self) -> str:
        return f"Via({self.registry.namespace.name}/{self.registry.name}, {self.key!r})"


def matches(value: Any, pattern: Any) -> bool:
    """Whether ``value`` fits ``pattern``: ``ANY`` fits anything, tuples and lists match item by
    item, dicts match the keys they name, anything else must be equal."""
    if pattern is ANY:
        return True
    if isinstance(pattern, (tuple, list)):
        return (
            isinstance(value, type(pattern))
            and len(value) == len(pattern)
            and all(matches(v, p) for v, p in zip(value, pattern, strict=True))
        )
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(k in value and matches(value[k], p) for k, p in pattern.items())
    return bool(value == pattern)


class Registry:
    """Keys to processes (with a value each) in one namespace; see the module docstring."""

    def __init__(self, name: str, namespace: Home, keys: Keys = "unique") -> None:
        if keys not in ("unique", "duplicate"):
            raise ValueError(f"keys must be 'unique' or 'duplicate', not {keys!r}")
        self.name = name
        self.namespace = namespace
        self.keys: Keys = keys
        self._holders: dict[Hashable, Process] = {}  # unique keys
        self._values: dict[Hashable, Any] = {}  # unique keys
        self._entries: dict[Hashable, list[list[Any]]] = {}  # duplicate keys: [process, value]
        self._listeners: list[Listener] = []

    def __repr__(self) -> str:
        return f"<Registry {self.namespace.name}/{self.name} ({self.keys}, {self.count()} entries)>"

    def via(self, key: Hashable) -> Via:
        """A name for whoever holds ``key`` here."""
        return Via(self, key)

    # ----- writes ---------------------------------------------------------------------------

    def register(self, key: Hashable, value: Any = None, *, process: Process | None = None) -> None:
        """Register ``process`` (default: the current one) under ``key`` with ``value``.

        Unique registries raise :class:`AlreadyRegistered` if another process holds the key.
        """
        proc = self._owner(process)
        hash(key)
        if self.keys == "unique":
            holder = self._holders.get(key)
            if holder is not None and holder is not proc:
                raise AlreadyRegistered(
                    f"{key!r} is already registered to {holder!r} in {self.namespace.name!r}", holder
                )
            if holder is None:
                proc._names = (proc._names or []) + [(self, key)]
            self._holders[key] = proc
            self._values[key] = value
        else:
            self._entries.setdefault(key, []).append([proc, value])
            proc._names = (proc._names or []) + [(self, key)]
        self._notify("register", key, proc, value)

    def unregister(self, key: Hashable, *, process: Process | None = None) -> None:
        """Remove ``process``'s entries under ``key`` (no error if there are none)."""
        proc = self._owner(process, must_run=False)
        if proc._names:
            proc._names = [entry for entry in proc._names if entry != (self, key)]
        self._drop(key, proc)

    def update_value(self, key: Hashable, update: Callable[[Any], Any], *, process: Process | None = None) -> Any:
        """Replace ``process``'s value under ``key`` with ``update(old)``; return the new value."""
        proc = self._owner(process)
        if self.keys == "unique":
            if self._holders.get(key) is not proc:
                raise KeyError(f"{proc!r} does not hold {key!r}")
            new = self._values[key] = update(self._values[key])
            return new
        entries = [entry for entry in self._entries.get(key, ()) if entry[0] is proc]
        if not entries:
            raise KeyError(f"{proc!r} does not hold {key!r}")
        for entry in entries:
            entry[1] = update(entry[1])
        return entries[-1][1]

    def _owner(self, process: Process | None, must_run: bool = True) -> Process:
        proc = process if process is not None else current_process()
        if proc is None:
            raise RuntimeError("register from inside a process, or pass process=")
        if proc.namespace is not self.namespace:
            raise ValueError(f"{proc!r} belongs to namespace {proc.namespace.name!r}, not {self.namespace.name!r}")
        if must_run and proc.status == "stopped":
            raise NotRunning(f"{proc!r} has exited")
        return proc

    def _drop(self, key: Hashable, proc: Process) -> None:
        """Forget ``proc`` under ``key``; called on unregister and when the process exits."""
        if self.keys == "unique":
            if self._holders.get(key) is proc:
                del self._holders[key]
                value = self._values.pop(key)
                self._notify("unregister", key, proc, value)
            return
        entries = self._entries.get(key)
        if not entries:
            return
        kept = [entry for entry in entries if entry[0] is not proc]
        if kept:
            self._entries[key] = kept
        else:
            del self._entries[key]
        for entry in entries:
            if entry[0] is proc:
                self._notify("unregister", key, proc, entry[1])

    def _clear(self) -> None:
        """Drop every entry (the namespace is going away)."""
        for key, proc, _ in list(self.entries()):
            self._drop(key, proc)

    # ----- reads ----------------------------------------------------------------------------

    def whereis(self, key: Hashable) -> Process | None:
        """The holder of a unique ``key``, or None."""
        return self._holders.get(key)

    def lookup(self, key: Hashable) -> list[tuple[Process, Any]]:
        """Every ``(process, value)`` under ``key``."""
        if self.keys == "unique":
            holder = self._holders.get(key)
            return [] if holder is None else [(holder, self._values[key])]
        return [(proc, value) for proc, value in self._entries.get(key, ())]

    def entries(self) -> Iterator[tuple[Hashable, Process, Any]]:
        """Every ``(key, process, value)``."""
        if self.keys == "unique":
            for key, proc in self._holders.items():
                yield key, proc, self._values[key]
        else:
            for key, entries in self._entries.items():
                for proc, value in entries:
                    yield key, proc, value

    def keys_of(self, process: Process) -> list[Hashable]:
        """The keys ``process`` is registered under here."""
        return [key for registry, key in (process._names or ()) if registry is self]

    def match(self, key: Hashable, pattern: Any) -> list[tuple[Process, Any]]:
        """Entries under ``key`` whose value fits ``pattern`` (see :func:`matches`)."""
        return [(proc, value) for proc, value in self.lookup(key) if matches(value, pattern)]

    def select(self, predicate: Callable[[Hashable, Process, Any], bool]) -> list[tuple[Hashable, Process, Any]]:
        """Entries for which ``predicate(key, process, value)`` is true."""
        return [entry for entry in self.entries() if predicate(*entry)]

    def count(self, key: Hashable = ..., pattern: Any = ANY) -> int:
        """Number of entries: all of them, or under ``key`` fitting ``pattern``."""
        if key is ...:
            return len(self._holders) if self.keys == "unique" else sum(len(e) for e in self._entries.values())
        return len(self.match(key, pattern))

    # ----- pub/sub --------------------------------------------------------------------------

    def dispatch(self, key: Hashable, fn: Callable[[list[tuple[Process, Any]]], Any]) -> Any:
        """Call ``fn`` with every ``(process, value)`` under ``key`` (if any) and return its result."""
        entries = self.lookup(key)
        return fn(entries) if entries else None

    def publish(self, key: Hashable, message: Any) -> int:
        """Send ``message`` as info to every process under ``key``; return how many got it.

        A holder whose mailbox is full is skipped (and logged), never waited for.
        """
        delivered = 0
        for proc, _ in self.lookup(key):
            try:
                proc.put_nowait(INFO, message)
                delivered += 1
            except (MailboxFull, NotRunning, TypeError) as exc:
                log.warning("publish %r to %r skipped: %s", key, proc, exc)
        return delivered

    # ----- listeners ------------------------------------------------------------------------

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event, key, process, value)`` on each register/unregister; returns an
        unsubscribe function. A listener that raises is detached and logged."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self, event: str, key: Hashable, proc: Process, value: Any) -> None:
        for listener in list(self._listeners):
            try:
                listener(event, key, proc, value)
            except Exception:
                log.exception("registry listener %r raised; detached", listener)
                self._listeners.remove(listener)

"""The config server: nested settings with a schema, lock-free reads, validated atomic updates.

Settings are addressed by paths (``("code", "parser", "max_workers")`` or ``"code.parser.max_workers"``)
and declared with :class:`Setting`: type, range or choices, default, and whether the path may change
at run time. Values load from the defaults, then a TOML file, then environment variables
(``SCOPE_EXT__CODE__PARSER__MAX_WORKERS=4``), in that order.

Reads never queue behind the server: the server publishes an immutable :class:`ConfigSnapshot` on
the namespace's Foundation handle, and readers look values up there (so reads also keep working,
on the last snapshot, while the server restarts). Updates go through the server's mailbox, one at a
time; an invalid update changes nothing and says why.
"""

from __future__ import annotations

import builtins
import difflib
import logging
import math
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from ..runtime._exceptions import MailboxFull, ScopeError
from ..runtime._mailbox import INFO
from ..runtime._process import Process, Refused
from ..runtime._service import Service, call

if TYPE_CHECKING:
    from ..runtime._namespace import Namespace

log = logging.getLogger("scope_ext.config")

ConfigPath = tuple[str, ...]
_MISSING: Any = object()


class ConfigError(ScopeError):
    """A setting is unknown, has the wrong type or range, may not change at run time, or a
    source (TOML file, environment variable) holds an invalid value."""


def as_path(path: str | Iterable[str]) -> ConfigPath:
    """``"a.b.c"`` or ``["a", "b", "c"]`` as the tuple ``("a", "b", "c")``."""
    if isinstance(path, str):
        return tuple(path.split("."))
    return tuple(path)


@dataclass(frozen=True, init=False)
class Setting:
    """One setting of the schema, at ``path`` (dotted string or sequence of keys).

    ``type`` is ``int``, ``float``, ``bool``, ``str`` or ``list``; ``optional`` admits None;
    ``minimum`` / ``maximum`` bound numbers; ``choices`` lists the allowed values; ``runtime``
    says whether it may change after start.
    """

    path: ConfigPath
    type: builtins.type
    default: Any
    doc: str
    minimum: float | None
    maximum: float | None
    choices: tuple[Any, ...] | None
    runtime: bool
    optional: bool

    def __init__(
        self,
        path: str | Iterable[str],
        type: builtins.type,
        default: Any,
        doc: str = "",
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        choices: Iterable[Any] | None = None,
        runtime: bool = True,
        optional: bool = False,
    ) -> None:
        for name, value in (
            ("path", as_path(path)),
            ("type", type),
            ("default", default),
            ("doc", doc),
            ("minimum", minimum),
            ("maximum", maximum),
            ("choices", None if choices is None else tuple(choices)),
            ("runtime", runtime),
            ("optional", optional),
        ):
            object.__setattr__(self, name, value)
        if self.type not in (int, float, bool, str, list):
            raise TypeError(f"setting {self.name}: type must be int, float, bool, str or list, not {self.type!r}")
        object.__setattr__(self, "default", self.validate(default, "default"))  # frozen: lists become tuples

    @property
    def name(self) -> str:
        """The dotted path."""
        return ".".join(self.path)

    def validate(self, value: Any, source: str = "value") -> Any:
        """``value`` checked (ints are accepted for floats, lists frozen to tuples); raises ConfigError."""
        if value is None:
            if self.optional:
                return None
            raise ConfigError(f"{self.name}: {source} may not be None")
        ok = isinstance(value, self.type) and not (self.type is int and isinstance(value, bool))
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            try:
                value, ok = float(value), True
            except OverflowError:
                raise ConfigError(f"{self.name}: {source} {value!r} is too large for a float") from None
        if self.type is list and isinstance(value, (list, tuple)):
            value, ok = tuple(value), True
        if not ok:
            raise ConfigError(
                f"{self.name}: {source} must be {self.type.__name__}, not {type(value).__name__} {value!r}"
            )
        if self.type is float and not math.isfinite(value):  # NaN passes every comparison below
            raise ConfigError(f"{self.name}: {source} {value!r} is not a finite number")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{self.name}: {source} {value!r} is below the minimum {self.minimum!r}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{self.name}: {source} {value!r} is above the maximum {self.maximum!r}")
        if self.choices is not None and value not in self.choices:
            raise ConfigError(f"{self.name}: {source} {value!r} is not one of {list(self.choices)!r}")
        return value

    def parse(self, text: str, source: str) -> Any:
        """A value from an environment variable's text."""
        try:
            if self.optional and text.lower() in ("", "none", "null"):
                return None
            if self.type is bool:
                lowered = text.strip().lower()
                if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(text)
                return self.validate(lowered in ("1", "true", "yes", "on"), source)
            if self.type is list:
                return self.validate([part.strip() for part in text.split(",") if part.strip()], source)
            return self.validate(self.type(text), source)
        except ValueError:
            raise ConfigError(f"{self.name}: {source} {text!r} is not a valid {self.type.__name__}") from None


class Schema:
    """The settings a namespace knows; unknown paths are refused with a suggestion."""

    def __init__(self, settings: Iterable[Setting]) -> None:
        self.settings: dict[ConfigPath, Setting] = {}
        for setting in settings:
            if setting.path in self.settings:
                raise ValueError(f"setting {setting.name} is declared twice")
            self.settings[setting.path] = setting
        for path in self.settings:
            for length in range(1, len(path)):
                if path[:length] in self.settings:
                    raise ValueError(f"setting {'.'.join(path[:length])} cannot also be a section of {'.'.join(path)}")

    @property
    def sections(self) -> set[str]:
        """The first parts of every setting's path (``events``, ``code``, ...)."""
        return {path[0] for path in self.settings}

    def extended(self, settings: Iterable[Setting]) -> Schema:
        """A new schema with ``settings`` added (a layer's own section)."""
        return Schema((*self.settings.values(), *settings))

    def setting(self, path: ConfigPath) -> Setting:
        """The setting at ``path``; raises ConfigError naming the closest known paths."""
        found = self.settings.get(path)
        if found is None:
            known = [s.name for s in self.settings.values()]
            close = difflib.get_close_matches(".".join(path), known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError(f"no setting {'.'.join(path)}{hint}")
        return found

    def defaults(self) -> dict[ConfigPath, Any]:
        """Every path with its default."""
        return {path: s.default for path, s in self.settings.items()}


def _freeze(flat: Mapping[ConfigPath, Any]) -> Mapping[str, Any]:
    tree: dict[str, Any] = {}
    for path, value in flat.items():
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    def freeze(node: Any) -> Any:
        return MappingProxyType({k: freeze(v) for k, v in node.items()}) if isinstance(node, dict) else node

    return freeze(tree)


class ConfigSnapshot:
    """An immutable version of the configuration: ``get(path)``, ``tree``, ``version``."""

    __slots__ = ("version", "values", "tree")

    def __init__(self, version: int, values: Mapping[ConfigPath, Any]) -> None:
        self.version = version
        self.values: Mapping[ConfigPath, Any] = MappingProxyType(dict(values))
        self.tree = _freeze(self.values)

    def get(self, path: str | Iterable[str], default: Any = _MISSING) -> Any:
        """The value at a setting's path, or the frozen section (a mapping) under a prefix."""
        key = path if type(path) is tuple else as_path(path)
        value = self.values.get(key, _MISSING)
        if value is not _MISSING:
            return value
        node: Any = self.tree
        for part in key:
            if not isinstance(node, Mapping) or part not in node:
                if default is not _MISSING:
                    return default
                raise ConfigError(f"no setting or section {'.'.join(key)}")
            node = node[part]
        return node


class Sources(NamedTuple):
    """Where values come from after the defaults: a TOML file, then environment variables."""

    toml_path: str | os.PathLike[str] | None = None
    environ: Mapping[str, str] | None = None  # None: os.environ
    env_prefix: str = "SCOPE_EXT"


#: Defaults and the process's environment only.
NO_FILE = Sources()


def load(schema: Schema, sources: Sources = NO_FILE, unclaimed: list[str] | None = None) -> dict[ConfigPath, Any]:
    """Defaults, then the TOML file, then environment variables ``PREFIX__A__B=value``.

    Values in a section the schema does not have are left for the layer that adds that section
    later (:meth:`ConfigClient.extend`) and named in ``unclaimed``; an unknown setting inside a
    known section is an error.
    """
    toml_path, environ, env_prefix = sources
    sections = schema.sections
    values = schema.defaults()
    if toml_path is not None:
        try:
            data = tomllib.loads(Path(toml_path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {os.fspath(toml_path)}: {exc}") from None

        def walk(node: Mapping[str, Any], prefix: ConfigPath) -> None:
            for key, value in node.items():
                path = (*prefix, key)
                if path[0] not in sections:
                    if unclaimed is not None:
                        unclaimed.append(f"[{key}] in {os.fspath(toml_path)}")
                elif isinstance(value, dict):
                    walk(value, path)
                else:
                    setting = schema.setting(path)
                    values[path] = setting.validate(value, f"value in {os.fspath(toml_path)}")

        walk(data, ())
    marker = f"{env_prefix}__"
    for name, text in (environ if environ is not None else os.environ).items():
        if name.startswith(marker):
            path = tuple(part.lower() for part in name[len(marker) :].split("__"))
            if path[0] not in sections:
                if unclaimed is not None:
                    unclaimed.append(name)
                continue
            values[path] = schema.setting(path).parse(text, f"environment variable {name}")
    return values


class ConfigChanged(NamedTuple):
    """Sent to subscribers after an update: the path, its old and its new value."""

    path: ConfigPath
    old: Any
    new: Any


class _Update(NamedTuple):
    changes: tuple[tuple[ConfigPath, Any], ...]


class _Reset(NamedTuple):
    pass


class _Extend(NamedTuple):
    settings: tuple[Setting, ...]


Subscriber = Process | Callable[[ConfigChanged], Any]


class ConfigStore:
    """What outlives a restart of a namespace's config server: the schema, the loaded values and
    where they came from, the published snapshot and the subscribers."""

    def __init__(
        self, namespace: Namespace, schema: Schema, loaded: Mapping[ConfigPath, Any], sources: Sources
    ) -> None:
        self.namespace = namespace
        self.schema = schema
        #: Defaults, file and environment: what ``reset`` goes back to.
        self.loaded = dict(loaded)
        self.sources = sources
        self.snapshot: ConfigSnapshot | None = None
        self.subscribers: dict[Any, ConfigPath] = {}


class ConfigServer(Service):
    """Serializes updates and publishes snapshots; started by the Foundation with ``init(store)``."""

    def init(self, store: ConfigStore) -> None:
        self.store = store
        if store.snapshot is None:  # first start; after a crash, continue from the last published snapshot
            store.snapshot = ConfigSnapshot(1, store.loaded)

    def handle_call(self, request: Any, caller: Any) -> Any:
        if type(request) is _Update:
            try:
                return self._apply(request.changes)
            except ConfigError as exc:
                return Refused(exc)
        if type(request) is _Reset:
            return self._replace(dict(self.store.loaded))
        if type(request) is _Extend:
            try:
                return self._extend(request.settings)
            except (ConfigError, ValueError) as exc:
                return Refused(exc if isinstance(exc, ConfigError) else ConfigError(str(exc)))
        return super().handle_call(request, caller)

    def _extend(self, settings: tuple[Setting, ...]) -> ConfigSnapshot:
        store = self.store
        new = [s for s in settings if s.path not in store.schema.settings]
        if not new:
            return store.snapshot  # type: ignore[return-value]
        schema = store.schema.extended(new)  # ValueError: a clash with a known setting
        loaded = load(Schema(new), store.sources)
        store.schema = schema
        store.loaded.update(loaded)
        return self._replace({**store.snapshot.values, **loaded})  # type: ignore[union-attr]

    def _apply(self, changes: tuple[tuple[ConfigPath, Any], ...]) -> ConfigSnapshot:
        schema = self.store.schema
        values = dict(self.store.snapshot.values)  # type: ignore[union-attr]
        for path, value in changes:  # validate everything before changing anything
            setting = schema.setting(path)
            if not setting.runtime:
                raise ConfigError(f"{setting.name} cannot change at run time (it is read at start)")
            values[path] = setting.validate(value)
        return self._replace(values)

    def _replace(self, values: dict[ConfigPath, Any]) -> ConfigSnapshot:
        old = self.store.snapshot
        assert old is not None
        snapshot = ConfigSnapshot(old.version + 1, values)
        self.store.snapshot = snapshot
        changed = [ConfigChanged(p, old.values.get(p), v) for p, v in values.items() if old.values.get(p) != v]
        for change in changed:
            self._notify(change)
        return snapshot

    def _notify(self, change: ConfigChanged) -> None:
        subscribers = self.store.subscribers
        for subscriber, prefix in list(subscribers.items()):
            if change.path[: len(prefix)] != prefix:
                continue
            try:
                if isinstance(subscriber, Process):
                    subscriber.put_nowait(INFO, change)
                else:
                    subscriber(change)
            except MailboxFull:
                log.warning("config subscriber %r has a full mailbox; notification dropped", subscriber)
            except Exception:  # a dead process or a broken callback: drop it
                log.warning("config subscriber %r failed; unsubscribed", subscriber, exc_info=True)
                subscribers.pop(subscriber, None)


class ConfigClient:
    """The config API of one namespace (``foundation.config``)."""

    def __init__(self, store: ConfigStore) -> None:
        self._store = store

    @property
    def snapshot(self) -> ConfigSnapshot:
        """The latest published snapshot."""
        snapshot = self._store.snapshot
        if snapshot is None:
            raise ConfigError("the config server has not started yet")
        return snapshot

    @property
    def schema(self) -> Schema:
        """The namespace's schema."""
        return self._store.schema

    def get(self, path: str | Iterable[str], default: Any = _MISSING) -> Any:
        """A value (or frozen section) from the latest snapshot; never waits for the server."""
        snapshot = self._store.snapshot
        if snapshot is None:
            raise ConfigError("the config server has not started yet")
        return snapshot.get(path, default)

    async def update(self, path: str | Iterable[str], value: Any) -> ConfigSnapshot:
        """Set one value; returns the new snapshot or raises ConfigError (nothing changed)."""
        return await self.update_many({as_path(path): value})

    async def update_many(self, changes: Mapping[Any, Any]) -> ConfigSnapshot:
        """Set several values atomically: all of them or, on any error, none."""
        request = _Update(tuple((as_path(p), v) for p, v in changes.items()))
        return await call(self._store.namespace.via("config"), request)  # type: ignore[no-any-return]

    async def extend(self, settings: Iterable[Setting]) -> ConfigSnapshot:
        """Add a layer's settings section (those not known yet), with their values from the same
        defaults, file and environment as the rest; raises ConfigError on a clash."""
        request = _Extend(tuple(settings))
        return await call(self._store.namespace.via("config"), request)  # type: ignore[no-any-return]

    async def reset(self) -> ConfigSnapshot:
        """Back to the loaded values (defaults, file, environment); for tests."""
        return await call(self._store.namespace.via("config"), _Reset())  # type: ignore[no-any-return]

    def subscribe(self, subscriber: Subscriber, prefix: str | Iterable[str] = ()) -> Callable[[], None]:
        """Tell ``subscriber`` (a process, as info, or a callable) of every change under ``prefix``.

        Returns an unsubscribe function. A process that has exited, or a callback that raises, is
        dropped at the next notification.
        """
        subscribers = self._store.subscribers
        subscribers[subscriber] = as_path(prefix) if prefix else ()

        def unsubscribe() -> None:
            subscribers.pop(subscriber, None)

        return unsubscribe

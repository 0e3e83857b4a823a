"""The ``%scope`` line magic and ``%%scope`` cell magic: every subcommand, its arguments and its help.

Each subcommand runs in the kernel's main thread and reaches the runtime only through
:class:`~scope_ext.runtime._thread.RuntimeThread`. Quick ones return a Python object (so ``_`` and
assignment work) that displays itself; ``parse`` returns a :class:`ParseHandle` at once. A user
mistake is one :class:`~IPython.core.error.UsageError` line, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import time
from collections.abc import Callable, Generator, Hashable
from typing import Any, NamedTuple

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand

from .._display import Displayable, in_kernel
from .._result_table import QueryResult
from ..code._graphs import KINDS as GRAPH_KINDS
from ..code._index_run import IndexRun
from ..code._layer import find_code_layer
from ..code._start import start_code_layer
from ..foundation_layer._foundation import Foundation, find_foundation
from ..foundation_layer._health import assess, describe_health
from ..foundation_layer._start import cleanup, start_isolated_services
from ..foundation_layer._telemetry import TELEMETRY_COLUMNS
from ..runtime._exceptions import ScopeError
from ..runtime._namespace import Namespace
from ..runtime._process import Process
from ..runtime._runtime import Runtime
from ..runtime._snapshot import RuntimeSnapshot
from ..runtime._supervisor import restart_service, supervised, terminate_child
from ..runtime._thread import RuntimeThread


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as one UsageError line instead of exiting."""

    def __init__(self, command: str, summary: str) -> None:
        super().__init__(prog=f"%scope {command}", description=summary, add_help=False, exit_on_error=False)

    def error(self, message: str) -> Any:
        raise UsageError(f"{self.prog}: {message}; see %scope help {self.prog.split()[-1]}")


class _Command(NamedTuple):
    parser: _Parser
    run: Callable[[argparse.Namespace], Any]


class Status(Displayable):
    """What ``%scope status`` (and ``start`` / ``stop``) returns."""

    def __init__(self, running: bool, snapshot: RuntimeSnapshot | None, health: dict[str, str]) -> None:
        self.running = running
        self.snapshot = snapshot
        self.health = health

    def __repr__(self) -> str:
        if not self.running or self.snapshot is None:
            return "scope_ext runtime stopped"
        names = ", ".join(ns.name for ns in self.snapshot.namespaces)
        return f"scope_ext runtime {self.snapshot.status}; namespaces: {names}"

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        if not self.running or self.snapshot is None:
            return "scope_ext runtime [dim]stopped[/]"
        snap = self.snapshot
        title = Text(f"scope_ext runtime {snap.status}", style="bold")
        title.append(f"  up {snap.uptime:.1f}s, {snap.processes} processes, {snap.crashes} crashes", style="dim")
        table = Table()  # the title above it: in it, a title wraps to the table's width
        for column in ("namespace", "status", "processes", "health"):
            table.add_column(column, justify="right" if column == "processes" else "left", overflow="fold")
        for ns in snap.namespaces:
            table.add_row(ns.name, ns.status, str(ns.processes), self.health.get(ns.name, "no foundation"))
        return Group(title, table)


class ParseHandle(Displayable):
    """An index run started by ``%scope parse``: poll its fields or block with :meth:`wait`."""

    def __init__(self, thread: RuntimeThread, run: IndexRun, namespace: str) -> None:
        self._thread = thread
        self.run = run
        self.namespace = namespace
        self._view: Any = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        if not in_kernel():
            return super()._repr_mimebundle_(include, exclude)
        if self._view is None:  # in Jupyter: a live progress bar
            from ._views import ProgressView

            self._view = ProgressView(self._thread, self.progress, f"Indexing {self.run.root} ({self.namespace})")
        return self._view._repr_mimebundle_()

    @property
    def status(self) -> str:
        """running, done, cancelled or failed."""
        return self._thread.run_sync(lambda: self.run.status)

    @property
    def done(self) -> bool:
        return self.status != "running"

    def progress(self) -> dict[str, Any]:
        """Files and bytes done, rate (files/s), ETA and elapsed time (s), read through the runtime thread."""
        run = self.run
        return self._thread.run_sync(
            lambda: {
                "status": run.status,
                "elapsed": round(run.elapsed, 2),
                "files_done": run.files_done,
                "files_total": run.files_total,
                "files_skipped": run.files_skipped,
                "errors": run.errors,
                "bytes_done": run.bytes_done,
                "rate": run.rate,
                "eta": run.eta,
            }
        )

    def wait(self, timeout: float | None = None) -> ParseHandle:
        """Block until the run ends (or ``timeout`` seconds pass, then raise TimeoutError)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"index run {self.run.id} still running after {timeout} s")
            time.sleep(0.05)
        return self

    def __await__(self) -> Generator[Any, None, ParseHandle]:
        """``await run`` in a cell (IPython's autoawait): wait without blocking the kernel's loop."""
        return self._finished().__await__()

    async def _finished(self) -> ParseHandle:
        import asyncio

        while not self.done:
            await asyncio.sleep(0.05)
        return self

    def cancel(self) -> None:
        """Stop the run (files done so far stay indexed)."""
        self._thread.run_sync(self.run.cancel)

    def __repr__(self) -> str:
        return f"<index run {self.run.id} of {self.run.root} in {self.namespace!r}>"

    def __rich__(self) -> Any:
        p = self.progress()
        eta = f", ETA {p['eta']:.1f}s" if p["eta"] else ""
        return (
            f"index run {self.run.id} of {self.run.root} ({self.namespace}): {p['status']} after "
            f"{p['elapsed']:.1f}s, {p['files_done']}/{p['files_total']} files ({p['files_skipped']} unchanged), "
            f"{p['errors']} errors, {p['rate']:.0f} files/s{eta}"
        )


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
_UNIT = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _since(text: str) -> float:
    """``--since``: a duration back from now (``90``, ``30s``, ``5m``, ``2h``, ``1d``)."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90, 30s, 5m, 2h or 1d")
    return time.time() - float(found[1]) * _UNIT[found[2]]


#: Commands whose text is taken as typed (quotes and all): it is a query, SQL or a pattern.
RAW_TEXT = ("query", "sql", "grep")
_NS_FIRST = re.compile(r"--ns(?:=|\s+)(\S+)(?:\s+|$)")
_NS_LAST = re.compile(r"\s--ns(?:=|\s+)(\S+)\s*$")


def _first_word(line: str) -> tuple[str, str]:
    """The command name and the rest of the line, untouched."""
    parts = line.strip().split(maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0] if parts else "", "")


def _raw_text_args(name: str, rest: str, cell: str | None) -> argparse.Namespace:
    """``[--ns NS] TEXT [--ns NS]`` with TEXT as typed; a cell body is more text. A TEXT that is
    one quoted word as a shell would read it (``'$X.append($Y)'``) loses its quotes."""
    ns = "production"
    first = _NS_FIRST.match(rest)
    if first is not None:
        ns, rest = first.group(1), rest[first.end() :]
    last = _NS_LAST.search(" " + rest)
    if last is not None:
        ns, rest = last.group(1), (" " + rest)[: last.start()]
    text = rest.strip()
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        try:
            words = shlex.split(text)
        except ValueError:
            words = []
        if len(words) == 1:
            text = words[0]
    if cell is not None:
        text = f"{text}\n{cell}" if text else cell
    if not text.strip():
        raise UsageError(f"%scope {name}: give the {'pattern' if name == 'grep' else name} to run")
    return argparse.Namespace(text=text, ns=ns)


@magics_class
class ScopeMagics(Magics):
    """``%scope`` and ``%%scope``: see :data:`HELP` or ``%scope help``."""

    def __init__(self, shell: Any, thread: RuntimeThread) -> None:
        super().__init__(shell)
        self.thread = thread
        self.commands: dict[str, _Command] = {}
        self._define()
        type(self).scope.__doc__ = f"Control and inspect scope_ext.\n\n{self.help_text()}"  # what %scope? shows

    # -- entry points -------------------------------------------------------------------------

    @line_magic
    @no_var_expand  # the line is ours as typed: no {expr} or $name expansion by IPython
    def scope(self, line: str) -> Any:
        """Control and inspect scope_ext; ``%scope help`` lists the subcommands."""
        return self._dispatch(line, None)

    @cell_magic("scope")  # type: ignore[arg-type]  # IPython's decorator is typed for the bare form
    @no_var_expand
    def scope_cell(self, line: str, cell: str) -> Any:
        """``%%scope query`` / ``sql`` / ``grep`` with the text in the cell body."""
        return self._dispatch(line, cell)

    def _dispatch(self, line: str, cell: str | None) -> Any:
        name, rest = _first_word(line)
        name = name or "status"
        command = self.commands.get(name)
        if command is None:
            close = [c for c in self.commands if c.startswith(name[:2])]
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise UsageError(f"%scope: unknown command {name!r}{hint}; %scope help lists them")
        if name in RAW_TEXT:
            parsed = _raw_text_args(name, rest, cell)
        elif cell is not None:
            raise UsageError(f"%%scope {name}: only query, sql and grep take a cell body")
        else:
            try:
                parsed = command.parser.parse_args(shlex.split(rest))
            except (ValueError, argparse.ArgumentError) as exc:  # ValueError: shlex met an unclosed quote
                raise UsageError(f"%scope {name}: {exc}") from None
        try:
            return command.run(parsed)
        except ScopeError as exc:
            raise UsageError(f"%scope {name}: {exc}") from None

    # -- the command table --------------------------------------------------------------------

    def _add(self, name: str, summary: str, run: Callable[[argparse.Namespace], Any]) -> _Parser:
        parser = _Parser(name, summary)
        self.commands[name] = _Command(parser, run)
        return parser

    def _define(self) -> None:
        self._add("help", "this help, or one command's", self._help).add_argument("command", nargs="?")
        self._add("start", "start the runtime (on its own thread) with the production Foundation", self._start)
        self._add("stop", "stop every namespace in reverse order, then the runtime", self._stop)
        self._add("status", "state, uptime, namespaces, processes, crashes and health", self._status)
        ns = self._add("ns", "isolated namespaces: new NAME, list, drop NAME", self._ns)
        ns.add_argument("action", choices=["new", "list", "drop"])
        ns.add_argument("name", nargs="?")
        tree = self._add("tree", "the supervision trees (of one namespace): live in Jupyter", self._tree)
        tree.add_argument("namespace", nargs="?")
        tree.add_argument("--static", action="store_true", help="a snapshot instead of the live view")
        events = self._add("events", "stored events, newest first", self._events)
        events.add_argument("--ns", default="production", help="namespace (default production)")
        events.add_argument("--type", action="append", dest="types", help="event type (repeatable)")
        events.add_argument("--correlation", help="correlation id")
        events.add_argument("--since", type=_since, help="how far back: 90, 30s, 5m, 2h, 1d")
        events.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
        telemetry = self._add("telemetry", "every metric's value, count and percentiles", self._telemetry)
        telemetry.add_argument("--ns", default="production")
        config = self._add("config", "get PATH, or set PATH VALUE (runtime settings only)", self._config)
        config.add_argument("action", choices=["get", "set"])
        config.add_argument("path")
        config.add_argument("value", nargs="?")
        config.add_argument("--ns", default="production")
        parse = self._add("parse", "index a Python codebase (returns at once; see the handle)", self._parse)
        parse.add_argument("path")
        parse.add_argument("--ns", default="production")
        parse.add_argument("--watch", action="store_true", help="re-index files as they change")
        parse.add_argument("--dask", metavar="ADDRESS", help="parse on this Dask scheduler")
        parse.add_argument("--index", metavar="FILE", help="SQLite file for the index (default: in memory)")
        for name, summary in (
            ("query", "a code query, e.g. callers of json.dumps (or %%scope query)"),
            ("sql", "read-only SQL over the code index (or %%scope sql)"),
            ("grep", "a structural pattern, e.g. '$X.append($Y)' (or %%scope grep)"),
        ):
            parser = self._add(name, summary, getattr(self, f"_{name}"))
            parser.add_argument("text", nargs="+")
            parser.add_argument("--ns", default="production")
        graph = self._add("graph", "a focused picture of the code: callers, callees, imports, classes...", self._graph)
        graph.add_argument(
            "kind", choices=list(GRAPH_KINDS), help="; ".join(f"{k}: {v}" for k, v in GRAPH_KINDS.items())
        )
        graph.add_argument("name", help="the function, class, module or package it starts from")
        graph.add_argument("--depth", type=int, default=2, help="how far it grows (default 2)")
        graph.add_argument("--limit", type=int, default=200, help="at most this many nodes (default 200)")
        graph.add_argument("--ns", default="production")
        self._add(
            "timeline", "every namespace's events as they are stored, live (recent ones in a terminal)", self._timeline
        )
        dashboard = self._add(
            "dashboard", "tree, events and telemetry in tabs, live (rich text in a terminal)", self._dashboard
        )
        dashboard.add_argument("namespace", nargs="?", help="the tree's namespace (default: all)")
        for name, summary in (
            ("restart", "stop a supervised service and start it again from its spec"),
            ("terminate", "stop a supervised service (its supervisor keeps the spec)"),
        ):
            parser = self._add(name, summary, getattr(self, f"_{name}"))
            parser.add_argument("service")
            parser.add_argument("--ns", default="production")

    def help_text(self, command: str | None = None) -> str:
        """All subcommands in one line each, or one command's usage and options."""
        if command is not None:
            found = self.commands.get(command)
            if found is None:
                raise UsageError(f"%scope help: no command {command!r}")
            return found.parser.format_help().rstrip()
        width = max(map(len, self.commands))
        lines = [f"%scope {name:<{width}}  {c.parser.description}" for name, c in self.commands.items()]
        return "\n".join([*lines, "", "%scope help COMMAND shows a command's options."])

    # -- runtime access -----------------------------------------------------------------------

    def _runtime(self) -> Runtime:
        if not self.thread.running or self.thread.runtime is None:
            raise UsageError("the scope_ext runtime is stopped; %scope start starts it")
        return self.thread.runtime

    def _namespace(self, name: str) -> Namespace:
        rt = self._runtime()

        def find() -> Namespace:
            try:
                return rt.namespace(name)
            except KeyError:
                raise UsageError(
                    f"no namespace {name!r}; there are: {', '.join(ns.name for ns in rt.namespaces())}"
                ) from None

        return self.thread.run_sync(find)

    # -- commands -----------------------------------------------------------------------------

    def _help(self, args: argparse.Namespace) -> None:
        print(self.help_text(args.command))

    def _start(self, args: argparse.Namespace) -> Status:
        self.thread.start()
        return self._status(args)

    def _stop(self, args: argparse.Namespace) -> Status:
        self.thread.stop()
        return self._status(args)

    def _status(self, args: argparse.Namespace) -> Status:
        if not self.thread.running:
            return Status(False, None, {})
        rt = self._runtime()

        def read() -> tuple[RuntimeSnapshot, dict[str, str]]:
            health = {}
            for ns in rt.namespaces():
                found = find_foundation(ns)
                if found is not None:  # checked now: the monitor's last report may be stale
                    health[ns.name] = describe_health(assess(found)) if ns.status == "running" else "critical: down"
            return rt.snapshot(), health

        return Status(True, *self.thread.run_sync(read))

    def _ns(self, args: argparse.Namespace) -> Any:
        rt = self._runtime()
        if args.action == "list":

            def rows() -> list[tuple[Any, ...]]:
                return [
                    (
                        ns.name,
                        ns.status,
                        ns.process_count,
                        find_foundation(ns) is not None,
                        getattr(find_code_layer(ns), "root", None),
                    )
                    for ns in rt.namespaces()
                ]

            return QueryResult(
                "namespaces", ("name", "status", "processes", "foundation", "code"), self.thread.run_sync(rows)
            )
        if not args.name:
            raise UsageError(f"%scope ns {args.action}: give the namespace's name")
        if args.action == "new":
            self.thread.run(start_isolated_services, args.name)
            print(f"namespace {args.name!r} started with its own Foundation")
        else:
            if args.name == "production":
                raise UsageError("%scope ns drop: the production namespace stays; %scope stop stops everything")
            self._namespace(args.name)
            self.thread.run(cleanup, args.name)
            print(f"namespace {args.name!r} dropped")
        return None

    def _tree(self, args: argparse.Namespace) -> Any:
        rt = self._runtime()
        snap = self.thread.run_sync(rt.snapshot)
        if args.namespace is not None and args.namespace not in {ns.name for ns in snap.namespaces}:
            raise UsageError(f"%scope tree: no namespace {args.namespace!r}")
        if not args.static and in_kernel():
            from ._views import TreeView

            return TreeView(self.thread, args.namespace)
        if args.namespace is None:
            return snap
        try:
            only = snap.find(args.namespace)
        except KeyError:
            raise UsageError(f"%scope tree: no namespace {args.namespace!r}") from None
        return RuntimeSnapshot(snap.time, snap.status, snap.uptime, only.processes, snap.crashes, (only,))

    def _foundation(self, ns_name: str, command: str) -> Foundation:
        ns = self._namespace(ns_name)
        found: Foundation | None = self.thread.run_sync(lambda: find_foundation(ns))
        if found is None:
            raise UsageError(f"%scope {command}: namespace {ns_name!r} has no Foundation")
        return found

    def _events(self, args: argparse.Namespace) -> QueryResult:
        found = self._foundation(args.ns, "events")
        if args.limit < 1:
            raise UsageError("%scope events: --limit must be at least 1")
        events = self.thread.run(
            lambda: found.events.query(
                types=args.types, since=args.since, correlation_id=args.correlation, limit=args.limit, order="desc"
            )
        )
        rows = [
            (e.id, time.strftime("%H:%M:%S", time.localtime(e.timestamp)), e.type, e.correlation_id, e.source, e.data)
            for e in events
        ]
        return QueryResult(f"events in {args.ns}", ("id", "time", "type", "correlation", "source", "data"), rows)

    def _telemetry(self, args: argparse.Namespace) -> QueryResult:
        found = self._foundation(args.ns, "telemetry")
        summaries = self.thread.run_sync(lambda: found.telemetry.summaries())
        return QueryResult(
            f"telemetry in {args.ns}",
            TELEMETRY_COLUMNS,
            [tuple(s) for s in summaries],
        )

    def _config(self, args: argparse.Namespace) -> Any:
        config = self._foundation(args.ns, "config").config
        setting = config.schema.setting(
            tuple(args.path.split("."))
        )  # an immutable schema; ConfigError names close ones
        if args.action == "get":
            return self.thread.run_sync(config.get, args.path)
        if args.value is None:
            raise UsageError(f"%scope config set {args.path}: give a value ({setting.type.__name__})")
        value = setting.parse(args.value, "the value")
        self.thread.run(config.update, args.path, value)
        return value

    def _parse(self, args: argparse.Namespace) -> ParseHandle:
        ns = self._namespace(args.ns)
        if not args.path.strip():  # os.path.abspath('') is the working directory: never index it by accident
            raise UsageError("%scope parse: give the folder to index (an empty path is no folder)")
        root = os.path.abspath(os.path.expanduser(args.path))
        if not os.path.isdir(root):
            raise UsageError(f"%scope parse: {args.path!r} is not a folder")
        index = None if args.index is None else os.path.abspath(os.path.expanduser(args.index))

        async def begin() -> IndexRun:
            layer = find_code_layer(ns)
            if layer is None:
                layer = await start_code_layer(ns, root, index_path=index, watch=args.watch, dask=args.dask)
                return await layer.index()
            another = "use another namespace (%scope ns new NAME, then --ns NAME)"
            if layer.root != root:
                raise UsageError(f"namespace {ns.name!r} already indexes {layer.root}; {another}")
            if index is not None and index != layer.index_path:
                raise UsageError(f"namespace {ns.name!r} keeps its index in {layer.index_path or 'memory'}; {another}")
            if args.watch and not layer.watch:
                raise UsageError(f"namespace {ns.name!r} indexes {root} without --watch; {another}")
            if args.dask is not None:  # the one option that may change: it is a run-time setting
                await layer.foundation.config.update("code.parser.dask", args.dask)
            return await layer.index()

        return ParseHandle(self.thread, self.thread.run(begin), ns.name)

    def _code(self, ns_name: str, action: Callable[[Any], Any]) -> Any:
        ns = self._namespace(ns_name)

        async def run() -> Any:
            layer = find_code_layer(ns)
            if layer is None:
                raise UsageError(f"namespace {ns_name!r} has no code index yet; %scope parse PATH builds one")
            return await action(layer)

        return self.thread.run(run)

    def _query(self, args: argparse.Namespace) -> QueryResult:
        return self._code(args.ns, lambda layer: layer.query(args.text))  # type: ignore[no-any-return]

    def _sql(self, args: argparse.Namespace) -> QueryResult:
        return self._code(args.ns, lambda layer: layer.table(args.text))  # type: ignore[no-any-return]

    def _grep(self, args: argparse.Namespace) -> QueryResult:
        return self._code(args.ns, lambda layer: layer.grep(args.text))  # type: ignore[no-any-return]

    def _graph(self, args: argparse.Namespace) -> QueryResult:
        graph = self._code(args.ns, lambda layer: layer.graph(args.kind, args.name, args.depth, args.limit))
        return graph.table()  # type: ignore[no-any-return]

    def _find_child(self, ns_name: str, service: str) -> tuple[Process, Hashable]:
        ns = self._namespace(ns_name)

        def find() -> tuple[Process, Hashable] | None:
            for path, sup, child in supervised(ns.root):
                if path[-1] == service:
                    return sup, child
            return None

        found = self.thread.run_sync(find)
        if found is None:
            raise UsageError(f"no supervised service {service!r} in namespace {ns_name!r}; %scope tree shows them")
        return found

    def _restart(self, args: argparse.Namespace) -> None:
        self.thread.run(restart_service, *self._find_child(args.ns, args.service))
        print(f"{args.service} restarted")

    def _terminate(self, args: argparse.Namespace) -> None:
        self.thread.run(terminate_child, *self._find_child(args.ns, args.service))
        print(f"{args.service} terminated (%scope restart {args.service} starts it again)")

    def _timeline(self, args: argparse.Namespace) -> Any:
        self._runtime()
        from ._views import TimelineView, recent_events, recent_events_table

        if in_kernel():
            return TimelineView(self.thread)
        return recent_events_table(recent_events(self.thread, 50)[-50:])

    def _dashboard(self, args: argparse.Namespace) -> Any:
        tree = self._tree(argparse.Namespace(namespace=args.namespace, static=True))
        if in_kernel():
            from ._views import Dashboard

            return Dashboard(self.thread, args.namespace)
        return Overview(
            tree,
            self._events(argparse.Namespace(ns="production", types=None, correlation=None, since=None, limit=20)),
            self._telemetry(argparse.Namespace(ns="production")),
        )


class Overview(Displayable):
    """``%scope dashboard`` outside Jupyter: the tree, recent events and telemetry, once."""

    def __init__(self, tree: RuntimeSnapshot, events: QueryResult, telemetry: QueryResult) -> None:
        self.tree, self.events, self.telemetry = tree, events, telemetry

    def __repr__(self) -> str:
        return f"<scope_ext overview: {', '.join(ns.name for ns in self.tree.namespaces)}>"

    def __rich__(self) -> Any:
        from rich.console import Group

        return Group(self.tree.__rich__(), self.events.__rich__(), self.telemetry.__rich__())

"""The ``%scope`` magics in a real (in-process) IPython shell: parsing, results, errors."""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import scope_ext as sx
import scope_ext.notebook._extension as extension
from scope_ext import QueryResult
from scope_ext.notebook._magics import ParseHandle, Status


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("scope_ext")
    yield ip
    ip.extension_manager.unload_extension("scope_ext")
    InteractiveShell.clear_instance()


def scope(ip: InteractiveShell, line: str, cell: str | None = None):
    if cell is None:
        return ip.run_line_magic("scope", line)
    return ip.run_cell_magic("scope", line, cell)


def error_of(ip: InteractiveShell, line: str) -> str:
    with pytest.raises(UsageError) as caught:
        scope(ip, line)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_status_is_an_object_with_a_stable_repr_and_html(shell):
    status = scope(shell, "status")
    assert isinstance(status, Status) and status.running
    assert repr(status) == "scope_ext runtime running; namespaces: production"
    bundle = status._repr_mimebundle_()
    assert bundle["text/plain"] == repr(status) and "production" in bundle["text/html"]
    assert repr(scope(shell, "")) == repr(status)  # a bare %scope is %scope status


def test_user_mistakes_are_one_line_usage_errors(shell):
    assert "unknown command 'stat'" in error_of(shell, "stat") and "status" in error_of(shell, "stat")
    assert "invalid choice: 'create'" in error_of(shell, "ns create x")
    assert "give the namespace's name" in error_of(shell, "ns new")
    assert "not a duration" in error_of(shell, "events --since yesterday")
    assert "no namespace 'nope'" in error_of(shell, "events --ns nope")
    assert "code.parser.max_workers" in error_of(shell, "config get code.parser.max_worker")
    assert "below the minimum" in error_of(shell, "config set code.parser.max_workers 0")
    assert "not a finite number" in error_of(shell, "config set health.interval nan")
    assert "not a finite number" in error_of(shell, "config set health.interval inf")
    assert "no code index yet" in error_of(shell, "query callers of json.dumps")
    assert "not a folder" in error_of(shell, "parse /no/such/folder")
    assert "no supervised service 'ghost'" in error_of(shell, "restart ghost")
    assert "No closing quotation" in error_of(shell, "ns new 'unclosed")
    with pytest.raises(UsageError, match="only query, sql and grep"):
        scope(shell, "status", "body")


def test_status_shows_a_crash_loop_and_a_dead_foundation_for_what_they_are(shell):
    from scope_ext.notebook._extension import runtime_thread

    class Looping(sx.Service):
        def init(self):
            self.send_after(0.01, "tick")

        def handle_info(self, message):
            raise RuntimeError("boom")

    scope(shell, "ns new troubled")
    thread = runtime_thread()
    ns = thread.run_sync(lambda: thread.runtime.namespace("troubled"))
    children = [sx.ChildSpec("looping", Looping, name="looping")]
    thread.run(lambda: ns.start(sx.Supervisor, children, "one_for_one", 10_000, 1.0, id="app"))
    deadline = time.monotonic() + 10
    while "looping crash-looping" not in scope(shell, "status").health["troubled"] and time.monotonic() < deadline:
        time.sleep(0.05)
    status = scope(shell, "status")
    assert status.health["troubled"].startswith("critical: looping crash-looping:"), status.health
    assert "critical" in status._repr_mimebundle_()["text/html"]
    thread.run(lambda: sx.terminate_child(ns.root, "foundation"))
    assert "config not running" in scope(shell, "status").health["troubled"]
    scope(shell, "ns drop troubled")


def test_help_lists_every_command_and_each_command_has_usage(shell, capsys):
    scope(shell, "help")
    listed = capsys.readouterr().out
    for command in (
        "start",
        "stop",
        "status",
        "ns",
        "tree",
        "events",
        "telemetry",
        "config",
        "parse",
        "query",
        "sql",
        "grep",
        "restart",
        "terminate",
        "timeline",
        "dashboard",
    ):
        assert f"%scope {command}" in listed
    scope(shell, "help events")
    assert "--correlation" in capsys.readouterr().out
    assert "%scope parse" in (shell.find_line_magic("scope").__doc__ or "")  # what %scope? shows


def test_config_get_and_set_go_through_the_config_server(shell):
    assert scope(shell, "config set health.interval 0.5") == 0.5
    assert scope(shell, "config get health.interval") == 0.5
    shell.run_cell("value = %scope config get health.interval")
    assert shell.user_ns["value"] == 0.5
    assert "cannot change at run time" in error_of(shell, "config set events.path x.sqlite")


def test_namespaces_new_list_tree_and_drop(shell):
    scope(shell, "ns new scratch")
    table = scope(shell, "ns list")
    assert isinstance(table, QueryResult)
    assert {r["name"] for r in table} >= {"production", "scratch"}
    tree = scope(shell, "tree scratch")
    assert [ns.name for ns in tree.namespaces] == ["scratch"]
    assert "events" in str(tree._repr_mimebundle_()["text/html"])
    assert "already exists" in error_of(shell, "ns new scratch")
    scope(shell, "ns drop scratch")
    assert "scratch" not in {r["name"] for r in scope(shell, "ns list")}
    assert "stays" in error_of(shell, "ns drop production")


def test_events_and_telemetry_tables(shell):
    scope(shell, "ns new observed")
    from scope_ext.notebook._extension import runtime_thread

    thread = runtime_thread()

    def store() -> None:
        events = sx.foundation("observed").events
        for i in range(5):
            events.store_nowait("demo.tick", {"i": i}, correlation_id="run-1" if i % 2 else "run-2")

    thread.run_sync(store)
    deadline = time.monotonic() + 5
    while True:
        got = scope(shell, "events --ns observed --type demo.tick --correlation run-1")
        if len(got) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [r["data"]["i"] for r in got] == [3, 1]  # newest first, filtered
    assert len(scope(shell, "events --ns observed --type demo.tick --limit 3")) == 3
    assert len(scope(shell, "events --ns observed --type demo.tick --since 1h")) == 5
    metrics = scope(shell, "telemetry --ns observed")
    assert isinstance(metrics, QueryResult) and metrics.columns[:2] == ("metric", "kind")
    scope(shell, "ns drop observed")


def test_parse_returns_a_handle_then_query_sql_and_grep(shell, tmp_path: Path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text(
        textwrap.dedent("""
        import json

        def save(items, extra):
            items.append(extra)
            return json.dumps(items)
    """)
    )
    scope(shell, "ns new code")
    handle = scope(shell, f"parse {tmp_path} --ns code")
    assert isinstance(handle, ParseHandle)
    assert handle.wait(timeout=60).status == "done"
    assert handle.progress()["files_done"] == 2
    again = scope(shell, f"parse {tmp_path} --ns code")  # nothing changed: every file is skipped

    async def awaited():
        return await again

    assert asyncio.run(awaited()).progress()["files_skipped"] == 2
    callers = scope(shell, "query callers of json.dumps --ns code")
    assert [r["caller"] for r in callers] == ["pkg.mod.save"]
    multi = scope(shell, "query --ns code", "functions\nwhere complexity >= 1\norder by name")
    assert [r["fullname"] for r in multi] == ["pkg.mod.save"]
    rows = scope(shell, "sql --ns code", "SELECT name FROM modules ORDER BY name")
    assert rows.columns == ("name",) and [r["name"] for r in rows] == ["pkg", "pkg.mod"]
    assert "SQL error" in error_of(shell, "sql --ns code SELECT nothing FROM nowhere")
    assert "SQL refused: not authorized" in error_of(shell, "sql --ns code DELETE FROM modules")
    matches = scope(shell, "grep --ns code '$X.append($Y)'")
    assert [(r["path"], r["line"]) for r in matches] == [("pkg/mod.py", 5)]
    assert scope(shell, "grep --ns code $X.append($Y)").rows == matches.rows  # quotes are optional
    # the line is taken as typed: string literals keep their quotes, {...} and $name are not expanded
    named = scope(shell, "sql --ns code SELECT name FROM modules WHERE name = 'pkg.mod'")
    assert [r["name"] for r in named] == ["pkg.mod"]
    assert [r["fullname"] for r in scope(shell, "query functions where name = 'save' --ns code")] == ["pkg.mod.save"]
    literal = scope(shell, "sql --ns code SELECT '{len(x)}' AS a, '$HOME' AS b, \"it's\" AS c")
    assert literal.rows == [("{len(x)}", "$HOME", "it's")]
    long = "x" * 100_000  # a long line is not expanded (IPython's expansion is quadratic)
    assert scope(shell, f"sql --ns code SELECT length('{long}') AS n").rows == [(100_000,)]
    assert "give the pattern" in error_of(shell, "grep --ns code")
    assert "ast-grep cannot use the pattern" in error_of(shell, "grep --ns code 'unclosed")
    assert "already indexes" in error_of(shell, "parse /tmp --ns code")
    assert "give the folder" in error_of(shell, "parse '' --ns code")  # not the kernel's working directory
    assert "keeps its index in memory" in error_of(shell, f"parse {tmp_path} --ns code --index {tmp_path}/i.sqlite")
    assert "without --watch" in error_of(shell, f"parse {tmp_path} --ns code --watch")
    pictured = scope(shell, "graph callers json.dumps --ns code --depth 1")
    assert [(r["from"], r["to"]) for r in pictured] == [("pkg.mod.save", "json.dumps")]
    assert "no function or class 'pkg.mod.nothing'" in error_of(shell, "graph callees pkg.mod.nothing --ns code")
    assert "invalid choice: 'pie'" in error_of(shell, "graph pie pkg --ns code")
    scope(shell, "ns drop code")


def test_terminate_and_restart_a_service(shell, capsys):
    scope(shell, "ns new ops")
    scope(shell, "terminate telemetry --ns ops")
    assert "terminated" in capsys.readouterr().out

    def status() -> str:
        nodes = [scope(shell, "tree ops").namespaces[0].root]
        while nodes:
            node = nodes.pop()
            if node.id == "telemetry":
                return node.status
            nodes.extend(node.children)
        raise AssertionError("no telemetry node")

    assert status() == "stopped"
    scope(shell, "restart telemetry --ns ops")
    assert status() == "running"
    scope(shell, "ns drop ops")


def test_dashboard_outside_a_kernel_is_a_rich_overview(shell):
    overview = scope(shell, "dashboard")
    assert repr(overview) == "<scope_ext overview: production>"
    html = overview._repr_mimebundle_()["text/html"]
    assert "events in production" in html and "telemetry in production" in html


def test_timeline_outside_a_kernel_is_a_table_of_recent_events(shell):
    rt = extension.runtime_thread()
    found = rt.run_sync(lambda: sx.foundation("production"))
    rt.run(lambda: found.events.store_batch([("demo.tick", {"i": i}, None) for i in range(60)]))
    table = scope(shell, "timeline")
    assert table.columns == ("id", "time", "namespace", "type", "severity", "correlation")
    assert len(table.rows) == 50 and table.rows[-1][3] == "demo.tick"  # the newest 50, oldest first
    assert [row[0] for row in table.rows] == sorted(row[0] for row in table.rows)


def test_stop_and_start(shell):
    stopped = scope(shell, "stop")
    assert repr(stopped) == "scope_ext runtime stopped"
    assert "runtime is stopped" in error_of(shell, "tree")
    assert scope(shell, "start").running
    assert extension.runtime_thread() is not None


def test_unload_then_load_keeps_one_runtime_thread(shell):
    def runtimes() -> int:
        return sum(t.name == "scope_ext-runtime" for t in threading.enumerate())

    before = runtimes()  # the kernel's, and any other test's of this session
    shell.extension_manager.unload_extension("scope_ext")
    assert extension.runtime_thread() is None and runtimes() == before - 1
    shell.extension_manager.load_extension("scope_ext")
    shell.extension_manager.reload_extension("scope_ext")
    assert runtimes() == before and extension.runtime_thread().running
    assert scope(shell, "status").running

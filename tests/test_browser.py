"""In a real JupyterLab, in Debian's headless Chromium (driven by Playwright; no browser is
downloaded): run an example notebook, see the live tree with its nodes, see it update while a
cell blocks in ``time.sleep(3)``, and open the dashboard; the Scope sidebar and its commands
(labextension/); a saved notebook reopened with a new kernel shows its views' last state.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from lab_page import open_notebook

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EXAMPLES = Path(__file__).parent.parent / "examples"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"

CHAOS = """\
class Flaky(sx.Service):
    def init(self):
        self.send_after(0.2, "crash")

    def handle_info(self, message):
        raise RuntimeError("crash")  # restarts about 5 times a second

rt.run(lambda: rt.runtime.production.start(sx.Supervisor, [sx.ChildSpec("flaky", Flaky)], "one_for_one",
                                           1000, 1.0, id="chaos"))"""


FLOOD = """\
rt = sx.runtime_thread()
f = rt.run_sync(lambda: sx.foundation("production"))
for start in range(0, 100_000, 10_000):
    rt.run(lambda s=start: f.events.store_batch(
        [("load.tick", {"i": i}, f"c{i % 100}") for i in range(s, s + 10_000)]))"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """``python -m scope_ext lab`` on a folder with a copy of the first example plus four cells."""
    assert os.path.exists(CHROMIUM), "Debian's chromium is needed: bash .ci/install installs it"
    folder = tmp_path_factory.mktemp("lab")
    book = nbformat.read(EXAMPLES / "01_supervision.ipynb", 4)
    book.cells += [
        nbformat.v4.new_code_cell(CHAOS),
        nbformat.v4.new_code_cell("%scope tree"),
        nbformat.v4.new_code_cell("time.sleep(3)"),
        nbformat.v4.new_code_cell("%scope dashboard"),
    ]
    nbformat.write(book, folder / "live.ipynb")
    flood = nbformat.v4.new_notebook()
    flood.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    flood.cells = [
        nbformat.v4.new_code_cell(code)
        for code in (
            "%load_ext scope_ext",
            "import scope_ext as sx\nfrom scope_ext.notebook._views import TimelineView\n"
            "view = TimelineView(sx.runtime_thread())\nview",
            FLOOD,
        )
    ]
    nbformat.write(flood, folder / "flood.ipynb")
    for name, cells in (
        ("sidebar.ipynb", ["import time, scope_ext as sx", "rt = sx.runtime_thread()\n" + CHAOS, "time.sleep(3)"]),
        (
            "saved.ipynb",
            [
                "%load_ext scope_ext",
                "import scope_ext as sx\nrt = sx.runtime_thread()\n" + CHAOS,
                "%scope tree",
                "%scope dashboard",
            ],
        ),
    ):
        book = nbformat.v4.new_notebook()
        book.metadata["kernelspec"] = flood.metadata["kernelspec"]
        book.cells = [nbformat.v4.new_code_cell(code) for code in cells]
        nbformat.write(book, folder / name)
    settings = folder / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')  # no news pop-up
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "scope_ext",
        "lab",
        str(folder),
        "--no-browser",
        f"--port={port}",  # the main job
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
    ]
    environ = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(folder / "settings")}
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environ)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as reply:
                json.load(reply)
                break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("JupyterLab did not start") from None
            time.sleep(0.3)
    yield base, token, folder
    with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5) as reply:
        kernels = [kernel["id"] for kernel in json.load(reply)]
    server.terminate()  # our lab command has become JupyterLab: it stops its kernels on the way out
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    deadline = time.monotonic() + 10
    while (left := kernel_processes(kernels)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == [], f"kernels outlived the server: {left}"


def kernel_processes(kernel_ids: list[str]) -> list[int]:
    """Pids of processes still running any of these kernels."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(process.info["cmdline"] or [])
        if any(f"kernel-{kernel_id}" in line for kernel_id in kernel_ids):
            found.append(process.info["pid"])
    return found


@contextlib.contextmanager
def chromium_page(last_look: str) -> Iterator[tuple[Any, list[str]]]:
    """A page in Debian's headless Chromium, and the list its uncaught errors go to; the page's
    last look is saved as test-artifacts/``last_look``."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield page, errors
        finally:
            page.screenshot(path=str(ARTIFACTS / last_look))
            browser.close()


def run_menu(page, item: str) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def until(condition, what: str, timeout: float = 30) -> None:
    """Poll ``condition`` (views redraw their rows, so element handles go stale) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def restarts(row) -> int:
    """The restarts a tree row (its restarts column) or a sidebar row ("restarts N") shows."""
    cell = row.locator(".scope-ext-col-restarts")
    if cell.count():
        return int(cell.inner_text() or 0)
    found = re.search(r"restarts (\d+)", row.inner_text())
    return int(found[1]) if found else 0


# The contrast of an element's text on what shows behind it (WCAG's ratio; the first ancestor with
# a background that is mostly opaque).
CONTRAST = """el => {
  const rgba = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  let back = [255, 255, 255];
  for (let at = el; at; at = at.parentElement) {
    const c = rgba(getComputedStyle(at).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) { back = c; break; }
  }
  const [a, b] = [lum(rgba(getComputedStyle(el).color)) + 0.05, lum(back) + 0.05];
  return Math.max(a, b) / Math.min(a, b);
}"""


def set_theme(page, name: str) -> None:
    """Switch JupyterLab's theme from the Settings menu, as a person does."""
    page.get_by_role("menuitem", name="Settings", exact=True).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{name}$")).click()
    light = "false" if "Dark" in name else "true"
    page.wait_for_selector(f"body[data-jp-theme-light='{light}']", state="attached", timeout=10_000)
    time.sleep(0.5)  # the theme's stylesheet applies


def contrasts(scope, selectors: list[str]) -> dict[str, float]:
    """The text contrast of the first element each selector finds in ``scope``."""
    return {selector: scope.locator(selector).first.evaluate(CONTRAST) for selector in selectors}


def test_example_notebook_runs_and_the_tree_updates_while_a_cell_blocks(lab):
    base, token, _ = lab
    with chromium_page("last-page.png") as (page, errors):
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        open_notebook(page, base, token, "live.ipynb")
        cells = page.locator(".jp-CodeCell")
        count = cells.count()
        tree_cell, sleep_cell = cells.nth(count - 3), cells.nth(count - 2)  # ..., %scope tree, sleep, dashboard
        sleep_cell.locator(".jp-InputPrompt").click()  # select the sleeping cell
        run_menu(page, "Run All Above Selected Cell")
        tree = tree_cell
        flaky = tree.locator(".scope-ext-node[data-path='production/chaos/flaky']")
        flaky.wait_for(timeout=60_000)
        assert "running" in tree.locator(".scope-ext-node[data-path='production/app/counter']").inner_text()

        sleep_cell.locator(".jp-InputPrompt").click()
        page.keyboard.press("Shift+Enter")  # time.sleep(3); the dashboard cell is next
        page.keyboard.press("Shift+Enter")
        sleeping = sleep_cell.locator(".jp-InputPrompt")
        page.wait_for_function("el => el.textContent.includes('*')", arg=sleeping.element_handle(), timeout=10_000)
        tree.scroll_into_view_if_needed()
        time.sleep(0.3)
        first = restarts(flaky)
        time.sleep(1.0)  # (short: on a loaded machine the 3 s cell must still be running at the second look)
        second = restarts(flaky)
        assert "*" in sleeping.inner_text()  # the time.sleep(3) cell is still running
        assert second > first, (first, second)
        page.screenshot(path=str(ARTIFACTS / "tree-while-cell-blocks.png"))

        flaky.click()  # details: the exception line first, the traceback, the restart / terminate buttons
        page.wait_for_selector(".scope-ext-tree-details .scope-ext-traceback", timeout=10_000)
        assert "RuntimeError" in page.locator(".scope-ext-tree-details .scope-ext-exception").first.inner_text()

        tabs = page.locator(".jupyter-widgets.widget-tab").last
        tabs.wait_for(timeout=60_000)
        tabs.scroll_into_view_if_needed()
        tabs.locator(".lm-TabBar-tabLabel", has_text="events").click()
        page.wait_for_selector(".scope-ext-event", timeout=30_000)
        assert page.locator(".scope-ext-event", has_text="scope.process.crashed").count() > 0
        time.sleep(0.5)
        tabs.screenshot(path=str(ARTIFACTS / "gallery-timeline.png"))
        tabs.locator(".lm-TabBar-tabLabel", has_text="telemetry").click()
        page.wait_for_selector(".scope-ext-chart canvas", timeout=30_000)  # uPlot's charts
        assert tabs.locator(".scope-ext-chart .u-axis").count() >= 2  # a time axis and a value axis
        assert tabs.locator(".scope-ext-telemetry-table tr").count() > 1
        time.sleep(0.5)
        tabs.screenshot(path=str(ARTIFACTS / "gallery-telemetry.png"))
        tabs.locator(".lm-TabBar-tabLabel", has_text="supervision").click()
        tabs.locator(".scope-ext-node[data-path='production/chaos/flaky']").click()
        tabs.locator(".scope-ext-tree-details .scope-ext-traceback").wait_for(timeout=10_000)
        time.sleep(0.5)
        tabs.screenshot(path=str(ARTIFACTS / "dashboard.png"))  # the README's picture
        tree.screenshot(path=str(ARTIFACTS / "gallery-tree.png"))
        tabs.locator(".scope-ext-tree-details").screenshot(path=str(ARTIFACTS / "gallery-details.png"))
        checked = [
            ".scope-ext-label",
            ".scope-ext-col-status[data-health='crashing']",
            ".scope-ext-node .scope-ext-col-error",
            ".scope-ext-exception",
            ".scope-ext-tree-header span",
        ]
        light = contrasts(tabs, checked)
        set_theme(page, "JupyterLab Dark")  # the same views, read in the dark theme
        try:
            dark = contrasts(tabs, checked)
            tabs.screenshot(path=str(ARTIFACTS / "gallery-dark.png"))
            tabs.locator(".lm-TabBar-tabLabel", has_text="events").click()
            dark.update(contrasts(tabs, [".scope-ext-severity[data-severity='error']", ".scope-ext-event span"]))
            set_theme(page, "JupyterLab Dark High Contrast")
            high = contrasts(tabs, [".scope-ext-severity[data-severity='error']", ".scope-ext-event span"])
            tabs.locator(".lm-TabBar-tabLabel", has_text="supervision").click()
            high.update(contrasts(tabs, checked))
        finally:
            set_theme(page, "JupyterLab Light")
        assert min(light.values()) >= 4.5 and min(dark.values()) >= 4.5, (light, dark)
        assert min(high.values()) >= 4.5, high
        assert errors == []  # no uncaught error in the page


def test_the_timeline_stays_smooth_with_100000_events(lab):
    base, token, _ = lab
    with chromium_page("timeline-100k.png") as (page, errors):
        open_notebook(page, base, token, "flood.ipynb")
        run_menu(page, "Run All Cells")
        timeline = page.locator(".scope-ext-timeline")
        count = timeline.locator(".scope-ext-count")
        page.wait_for_function(
            "el => el.textContent.startsWith('100000 of 100000')",
            arg=count.element_handle(timeout=60_000),
            timeout=60_000,
        )
        # Alike events (the same type, differing in their numbers) are one row with their count
        assert timeline.locator(".scope-ext-event .scope-ext-repeat").first.inner_text() == "×100000"
        timeline.locator(".scope-ext-group-alike").uncheck()
        # Virtual drawing (timings belong in bench/, not in a test): wherever the viewport jumps, it
        # draws the rows in sight, and only those.
        drawn = page.evaluate("""() => {
            const viewport = document.querySelector('.scope-ext-viewport');
            const ids = () => [...document.querySelectorAll('.scope-ext-timeline .scope-ext-event')]
                .map(row => row.textContent);
            viewport.scrollTop = 0;
            viewport.dispatchEvent(new Event('scroll'));
            const top = ids();
            viewport.scrollTop = viewport.scrollHeight;
            viewport.dispatchEvent(new Event('scroll'));
            return {top, bottom: ids()};
        }""")
        assert drawn["top"] and drawn["bottom"] and drawn["top"] != drawn["bottom"]
        assert timeline.locator(".scope-ext-event").count() < 80  # only the rows in sight exist
        header = timeline.locator(".scope-ext-event-header span").all_inner_texts()
        assert header == ["severity", "id", "time", "namespace", "type", "service", "data"]
        assert timeline.locator(".scope-ext-event").first.locator("span").count() == len(header)  # one cell each
        timeline.locator("input[placeholder='correlation id']").fill("c7")
        page.wait_for_function("el => el.textContent.startsWith('1000 of 100000')", arg=count.element_handle())
        assert errors == []


def test_the_scope_sidebar_follows_the_kernel_and_runs_the_commands(lab):
    base, token, _ = lab
    with chromium_page("last-page-sidebar.png") as (page, errors):
        open_notebook(page, base, token, "sidebar.ipynb")
        page.locator(".jp-SideBar li[data-id='scope-ext-sidebar']").click()
        sidebar = page.locator("#scope-ext-sidebar")
        sidebar.get_by_text("scope_ext is not loaded in this kernel").wait_for(timeout=30_000)  # the empty state

        sidebar.locator("button[data-command='scope-ext:start-runtime']").click()
        production = sidebar.locator(".scope-ext-sidebar-ns[data-namespace='production']")
        production.wait_for(timeout=30_000)  # the kernel announced itself; the sidebar connected
        assert sidebar.locator(".scope-ext-sidebar-service[data-path='production/foundation/events']").count() == 1
        production.locator(".scope-ext-health[data-health='healthy']").wait_for(timeout=30_000)

        cells = page.locator(".jp-CodeCell")
        cells.nth(2).locator(".jp-InputPrompt").click()  # select the sleeping cell
        run_menu(page, "Run All Above Selected Cell")
        flaky = sidebar.locator(".scope-ext-sidebar-service[data-path='production/chaos/flaky']")
        flaky.wait_for(timeout=30_000)
        cells.nth(2).locator(".jp-InputPrompt").click()
        page.keyboard.press("Shift+Enter")  # time.sleep(3)
        sleeping = cells.nth(2).locator(".jp-InputPrompt")
        page.wait_for_function("el => el.textContent.includes('*')", arg=sleeping.element_handle(), timeout=10_000)
        first = restarts(flaky)
        time.sleep(1.0)
        second = restarts(flaky)
        assert "*" in sleeping.inner_text() and second > first, (first, second)  # live while the cell runs
        sidebar.locator(".scope-ext-sidebar-event", has_text="scope.process.crashed").first.wait_for()
        # the crash loop shows as such (its status says "running"), and its supervisor says so too
        sidebar.locator(
            ".scope-ext-sidebar-service[data-path='production/chaos/flaky'][data-health='crashing']"
        ).wait_for()
        chaos = sidebar.locator(".scope-ext-sidebar-service[data-path='production/chaos']")
        chaos.locator(".scope-ext-below[data-below='crashing']").wait_for()
        page.screenshot(path=str(ARTIFACTS / "sidebar.png"))
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=30_000)

        pause = sidebar.locator("button[data-command='scope-ext:toggle-pause']")
        assert pause.inner_text() == "Pause Live Updates"
        pause.click()
        sidebar.locator(".scope-ext-sidebar-status", has_text="paused").wait_for(timeout=10_000)
        held = flaky.inner_text()
        time.sleep(1.5)
        assert flaky.inner_text() == held  # nothing moves while paused
        sidebar.locator("button[data-command='scope-ext:toggle-pause']", has_text="Resume Live Updates").click()
        until(lambda: flaky.inner_text() != held, "an update after resuming")

        page.keyboard.press("Control+Shift+c")  # the palette lists the commands under "Scope"
        page.keyboard.type("Scope")
        palette = page.locator("#command-palette")
        for label in ("Open Dashboard", "Open Event Timeline", "Pause Live Updates"):
            palette.locator(".lm-CommandPalette-item", has_text=f"Scope: {label}").wait_for(timeout=10_000)
        start_item = palette.locator(".lm-CommandPalette-item[data-command='scope-ext:start-runtime']")
        assert "lm-mod-disabled" in start_item.get_attribute("class")  # it runs: offered, but not enabled
        page.keyboard.press("Escape")
        start = sidebar.locator("button[data-command='scope-ext:start-runtime']")
        assert start.inner_text() == "Start Runtime" and start.is_disabled()  # it runs: nothing to start

        sidebar.locator("button[data-command='scope-ext:open-dashboard']").click()
        dashboard = page.locator(".jp-MainAreaWidget", has=page.locator(".widget-tab"))
        dashboard.locator(".scope-ext-live .scope-ext-node[data-path='production/chaos/flaky']").wait_for(
            timeout=30_000
        )  # the live widget, not the snapshot
        dashboard.locator(
            ".scope-ext-node[data-path='production/chaos'] .scope-ext-below[data-below='crashing']"
        ).wait_for()
        # A person's click (held 150 ms) on a tree that changes all the time selects the row every time
        for attempt in range(10):
            path = ("production/chaos/flaky", "production/foundation/events")[attempt % 2]
            row = dashboard.locator(f".scope-ext-live .scope-ext-node[data-path='{path}']")
            box = row.locator(".scope-ext-label").bounding_box()  # its text, not the collapse toggle
            page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
            page.mouse.down()
            time.sleep(0.15)
            page.mouse.up()
            until(lambda r=row: "selected" in (r.get_attribute("class") or ""), f"click {attempt + 1} on {path}", 2)
            title = dashboard.locator(".scope-ext-live .scope-ext-details-title")
            until(lambda t=title, p=path: t.inner_text().startswith(p.rsplit("/", 1)[1]), "its details", 2)
        live_tree = dashboard.locator(".scope-ext-live .scope-ext-tree")
        # An action is confirmed in the view, saying what stops; its result stays until dismissed
        flaky_row = live_tree.locator(".scope-ext-node[data-path='production/chaos/flaky']")
        flaky_row.click()
        live_tree.locator(".scope-ext-actions .scope-ext-restart").click()
        confirm = live_tree.locator(".scope-ext-confirm")
        assert "Stops flaky within its shutdown time, then starts flaky again" in confirm.inner_text()
        live_tree.locator(".scope-ext-confirm-yes").click()
        note = live_tree.locator(".scope-ext-notes .scope-ext-note[data-ok='true']")
        note.wait_for(timeout=10_000)
        time.sleep(1.5)  # batches and the clock redraw the view: the result stays
        assert "production/chaos/flaky: restart done" in note.inner_text()
        note.locator(".scope-ext-dismiss").click()
        assert live_tree.locator(".scope-ext-notes .scope-ext-note").count() == 0

        def top_level() -> list[str]:  # production's children, in the order they are drawn
            rows = live_tree.locator(".scope-ext-node").evaluate_all(
                "rows => rows.map(r => [parseInt(r.style.top), r.dataset.path])"
            )
            return [path for _, path in sorted(rows) if path.count("/") == 1]

        live_tree.locator(".scope-ext-tree-header [data-sort='name']").click()  # sort by a column
        until(lambda: top_level() == ["production/chaos", "production/foundation"], "sorted by name")
        live_tree.locator(".scope-ext-tree-header [data-sort='name']").click()
        until(lambda: top_level() == ["production/foundation", "production/chaos"], "sorted by name, descending")
        live_tree.locator(".scope-ext-tree-header [data-sort='name']").click()  # and back to the tree's order

        def shown_paths() -> list[str]:
            return sorted(live_tree.locator(".scope-ext-node").evaluate_all("rows => rows.map(r => r.dataset.path)"))

        live_tree.locator(".scope-ext-search").fill("EVENTS")  # search: matches and their ancestors
        until(
            lambda: shown_paths() == ["production", "production/foundation", "production/foundation/events"], "search"
        )
        live_tree.locator(".scope-ext-search").fill("")
        live_tree.locator(".scope-ext-only-unhealthy").check()  # only the crash loop and its ancestors
        until(lambda: shown_paths() == ["production", "production/chaos", "production/chaos/flaky"], "only unhealthy")
        live_tree.locator(".scope-ext-search").fill("no such service")
        live_tree.locator(".scope-ext-empty", has_text="Nothing matches").wait_for()
        live_tree.locator(".scope-ext-search").fill("")
        live_tree.locator(".scope-ext-only-unhealthy").uncheck()
        sidebar.locator("button[data-command='scope-ext:open-timeline']").click()
        timeline = page.locator(
            ".jp-MainAreaWidget", has=page.locator(".scope-ext-timeline"), has_not=page.locator(".widget-tab")
        )
        timeline.locator(".scope-ext-live .scope-ext-event").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "sidebar-commands.png"))

        page.locator(".lm-TabBar-tabLabel", has_text=re.compile(r"^sidebar\.ipynb$")).click()  # back to the notebook
        page.get_by_role("menuitem", name="Kernel", exact=True).click()  # a restarted kernel has no scope_ext
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel…$")).click()
        page.locator(".jp-Dialog button", has_text="Restart").click()
        sidebar.get_by_text("scope_ext is not loaded in this kernel").wait_for(timeout=30_000)
        assert errors == []


def test_a_saved_notebook_reopens_with_its_views_last_state(lab):
    base, token, folder = lab
    with chromium_page("reopened-snapshot.png") as (page, errors):
        open_notebook(page, base, token, "saved.ipynb")
        run_menu(page, "Run All Cells")
        live = page.locator(".scope-ext-live .scope-ext-node[data-path='production/chaos/flaky']").first
        live.wait_for(timeout=60_000)
        until(lambda: restarts(live) >= 5, "the live tree shows restarts")
        shown = restarts(live)
        page.keyboard.press("Control+s")
        page.wait_for_selector(".jp-mod-dirty", state="detached", timeout=10_000)

        saved = nbformat.read(folder / "saved.ipynb", 4)
        tree = saved.cells[2].outputs[0]["data"]["application/vnd.scope-ext.snapshot+json"]
        flaky = tree["batch"]["set"]["production/chaos/flaky"]
        assert flaky["restarts"] >= shown > 0  # the page's last state, not the state when displayed
        html = saved.cells[2].outputs[0]["data"]["text/html"]  # and so is the HTML, for viewers without the extension
        assert f"flaky running  mailbox 0/1000  restarts {flaky['restarts']}" in html
        dashboard = saved.cells[3].outputs[0]["data"]["application/vnd.scope-ext.snapshot+json"]
        assert [view["kind"] for view in dashboard["views"]] == ["tree", "timeline", "telemetry"]

        page.reload()  # the kernel still runs: the page reconnects to its live views, not their snapshots
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
        again = page.locator(".scope-ext-live .scope-ext-node[data-path='production/chaos/flaky']").first
        again.wait_for(timeout=60_000)
        before = restarts(again)
        until(lambda: restarts(again) > before, "the reconnected tree is live")
        assert page.locator(".scope-ext-snapshot-note").count() == 0

        with urllib.request.urlopen(f"{base}/api/sessions?token={token}", timeout=5) as reply:
            sessions = json.load(reply)
        for session in sessions:  # the kernel goes: its widget models with it
            request = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")
            urllib.request.urlopen(request, timeout=10).close()
        open_notebook(page, base, token, "saved.ipynb")  # a new kernel, without scope_ext
        cells = page.locator(".jp-CodeCell")
        snapshot = cells.nth(2).locator(".scope-ext-snapshot .scope-ext-node[data-path='production/chaos/flaky']")
        snapshot.wait_for(timeout=30_000)
        assert restarts(snapshot) == flaky["restarts"]
        assert "saved snapshot of" in cells.nth(2).locator(".scope-ext-snapshot-note").inner_text()
        board = cells.nth(3).locator(".scope-ext-tabs")
        board.get_by_text("events", exact=True).click()
        cells.nth(3).locator(".scope-ext-event", has_text="scope.process.crashed").first.wait_for(timeout=10_000)
        reopened = cells.nth(3).locator(".scope-ext-viewport")  # a reopened timeline shows the newest events
        until(
            lambda: reopened.evaluate("v => v.scrollHeight - v.scrollTop - v.clientHeight < 40"),
            "opens at the newest",
            5,
        )
        board.get_by_text("telemetry", exact=True).click()
        cells.nth(3).locator(".scope-ext-chart").first.wait_for(timeout=10_000)
        time.sleep(3)  # ipywidgets gives up on the models by now
        assert page.get_by_text("model not found").count() == 0
        page.screenshot(path=str(ARTIFACTS / "reopened-snapshot.png"))
        assert errors == []

"""Many sidebars on one kernel share their reads: a round costs one snapshot, one health check
and one event query however many pages are open, and an idle round sends nothing."""

from __future__ import annotations

import time
from typing import Any

import scope_ext as sx
from scope_ext.notebook._feeds import Publisher
from scope_ext.notebook._sidebar import SidebarFeed


class PageEnd:
    """The kernel side of a comm, as a sidebar feed uses it: what was sent, and the page's callbacks."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.closed = False

    def send(self, data: dict[str, Any]) -> None:
        self.sent.append(data)

    def on_msg(self, callback: Any) -> None:
        self.page_says = callback

    def on_close(self, callback: Any) -> None:
        self.page_closed = callback


def test_sidebars_share_each_rounds_reads_and_stay_quiet_when_nothing_changes():
    thread = sx.RuntimeThread()
    thread.start()
    try:
        publisher = Publisher.of(thread)
        pages = [PageEnd() for _ in range(60)]
        feeds = [SidebarFeed(page, thread) for page in pages]
        time.sleep(1.0)  # the Foundation's own start-up events arrive
        firsts = [page.sent[0] for page in pages]
        assert all(first["reset"] and first["runtime"] == "running" for first in firsts)
        assert all(first["namespaces"] == firsts[0]["namespaces"] for first in firsts)
        before, sent_before = publisher.reads.computed, sum(len(page.sent) for page in pages)
        time.sleep(2.0)  # about 4 rounds of 60 feeds
        reads = publisher.reads.computed - before
        assert reads <= 4 * 4 * 3, f"{reads} reads for 60 sidebars: not shared"  # (state, foundations, events) a round
        thread.run(lambda: thread.runtime.production.start(sx.Supervisor, [], "one_for_one", id="new_app"))
        time.sleep(1.5)
        for page in pages:  # every page hears of the new supervisor, once
            news = [m for m in page.sent[1:] if m.get("tree") and any(p.endswith("/new_app") for p in m["tree"]["set"])]
            assert len(news) == 1, page.sent
        quiet = [len(page.sent) for page in pages]
        time.sleep(1.5)
        assert [len(page.sent) for page in pages] == quiet, "an idle round sends nothing"
        assert sent_before >= len(pages)
    finally:
        for feed in feeds:
            feed.closed = True
        thread.stop()

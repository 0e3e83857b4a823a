"""JupyterLab in a browser page, as the browser tests and ``bench/views.py`` drive it."""

from __future__ import annotations

from typing import Any


def open_notebook(page: Any, base: str, token: str, name: str, timeout: int = 60_000) -> None:
    """Open a notebook and wait until its kernel is idle (choosing the kernel if asked), each
    wait at most ``timeout`` ms."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(f"{base}/lab/tree/{name}?token={token}&reset")  # reset: only this notebook open
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout)
    select = page.locator(".jp-Dialog button", has_text="Select")
    try:  # a fresh server may ask which kernel to start
        select.wait_for(timeout=5_000)
        select.click()
    except PlaywrightTimeout:
        pass
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout)

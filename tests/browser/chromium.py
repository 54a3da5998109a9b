"""Debian's Chromium driven by Playwright for Python, never a downloaded browser.

``playwright install`` cannot work here (no internet) and is never needed: Playwright launches
the system's Chromium through ``executable_path``. ``/usr/lib/chromium/chromium`` is the binary
itself; ``/usr/bin/chromium`` is Debian's wrapper script around it (it also works, with a
harmless warning about ``/dev/shm``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "LAUNCH_ARGS",
    "MISSING_REASON",
    "chromium_browser",
    "chromium_path",
    "keep_screenshot",
    "launch",
]

_CANDIDATES = (Path("/usr/lib/chromium/chromium"), Path("/usr/bin/chromium"))

LAUNCH_ARGS = (
    "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

MISSING_REASON = (
    "Debian's chromium is not installed (/usr/bin/chromium): "
    "apt-get install chromium (.ci/run does it on CI)"
)


def chromium_path() -> Path | None:
    """The Chromium binary to launch, or None when the chromium package is not installed."""
    if not Path("/usr/bin/chromium").exists():
        return None
    return next((p for p in _CANDIDATES if p.exists()), None)


def launch(playwright: Any) -> Any:
    """A headless Chromium ``Browser`` from a started ``sync_playwright()``."""
    path = chromium_path()
    if path is None:
        raise RuntimeError(MISSING_REASON)
    return playwright.chromium.launch(executable_path=str(path), args=list(LAUNCH_ARGS))


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Playwright started and Chromium launched for the ``with`` block, both stopped after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def keep_screenshot(path: Path, name: str) -> None:
    """Copy a test's screenshot to ``$ROMA_NB_SCREENSHOTS/name`` when that variable is set.

    ``ROMA_NB_SCREENSHOTS=docs pytest tests/test_browser_panel.py`` refreshes the README's
    ``docs/panel.png``; without it screenshots stay in the test's temporary directory.
    """
    folder = os.environ.get("ROMA_NB_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(folder) / name)

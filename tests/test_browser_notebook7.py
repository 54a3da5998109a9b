"""The runbook's panel in Notebook 7 (``jupyter notebook``), as in JupyterLab and Voilà.

Notebook 7 is a JupyterLab application with its own shell and page: widgets render through the
same manager, but its page, its output area and its menus are its own, so the panel is checked
there too (issue 14). The server serves a scratch copy of the notebooks (autosave rewrites the
file it has open); the runbook is configured as ``make demo`` configures it
(``ROMA_NB_ENDPOINT=sandbox``). The cells run through Notebook 7's command registry, as the
JupyterLab tests do; the panel is then used with the mouse: instance, task, time, *Preview*.

``ROMA_NB_SCREENSHOTS=docs`` keeps ``docs/notebook7.png``.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from browser.chromium import MISSING_REASON, chromium_browser, chromium_path, keep_screenshot
from browser.kernels import isolated_env
from browser.lab_page import open_and_run_all
from browser.panel_page import RUNBOOK, PanelPage
from browser.servers import Server, free_port, start_server
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason=MISSING_REASON),
]

TOKEN = "notebook7-test-token"


def not_notebook_core(error: str) -> bool:
    """False for the one error Notebook 7.6.5's own code raised in this test: its keyboard
    shortcuts settings plugin reads ``plugins[id].schema`` of a plugin the registry has not
    loaded (``Cannot read properties of undefined (reading 'schema')``, every frame in
    ``notebook_core.*.js``). Any other error, or one from an extension's code (the widgets are
    ``labextensions/@jupyter-widgets``), fails the test."""
    frames = [line for line in error.splitlines()[1:] if "http" in line]
    notebook_only = bool(frames) and all("/static/notebook/notebook_core." in f for f in frames)
    return not ("reading 'schema'" in error and notebook_only)


@pytest.fixture
def notebook7(tmp_path: Path) -> Iterator[Server]:
    pytest.importorskip("notebook", minversion="7")
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(RUNBOOK, folder / RUNBOOK.name)
    env = isolated_env(
        tmp_path / "home",
        {"ROMA_NB_ENDPOINT": "sandbox", "ROMA_NB_HISTORY": str(tmp_path / "history.sqlite")},
    )
    port = free_port()
    command = [
        *(sys.executable, "-m", "notebook", "--no-browser", "--allow-root", f"--port={port}"),
        *("--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}"),
        *(f"--ServerApp.root_dir={folder}", "--JupyterNotebookApp.expose_app_in_browser=True"),
    ]
    server = start_server(
        "Notebook 7", command, port, env=env, cwd=folder, log_path=tmp_path / "notebook.log"
    )
    yield server
    server.stop()


def test_the_runbook_panel_previews_in_notebook_7(notebook7: Server, tmp_path: Path) -> None:
    with chromium_browser() as browser:
        context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 1800})
        page: Any = context.new_page()
        page_errors: list[str] = []
        page.on("pageerror", lambda error: page_errors.append(f"{error}\n{error.stack}"))
        try:
            open_and_run_all(page, f"{notebook7.url}/notebooks/{RUNBOOK.name}?token={TOKEN}")
            # Notebook 7's own page, not JupyterLab's
            expect(page.locator("#main-panel, .jp-NotebookPanel").first).to_be_visible()
            assert page.locator(".jp-LabShell").count() == 0
            panel = PanelPage(page)
            panel.wait_until_shown()
            assert "SANDBOX" in panel.banner()
            panel.choose_instance(0)
            (task_id,) = panel.choose_tasks(1)
            yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).replace(
                hour=2, minute=0, second=0, microsecond=0
            )
            panel.type_time(yesterday.strftime("%Y-%m-%dT%H:%M"), "UTC")
            panel.expect_instant(int(yesterday.timestamp()) * 1000)
            preview = panel.preview(rows=1)
            panel.panel.scroll_into_view_if_needed()
            expect(preview).to_contain_text(task_id)
            # What will happen to it, in words (the instant is said above the table, and the
            # task's last run is the sandbox's, on whatever day that falls).
            expect(preview).to_contain_text(re.compile(r"reset.*; (replays|may SKIP)"))
            shot = tmp_path / "notebook7.png"
            panel.panel.screenshot(path=str(shot))
            keep_screenshot(shot, "notebook7.png")
            ours = [e for e in page_errors if not_notebook_core(e)]
            assert ours == [], "\n".join(ours)
        finally:
            context.close()

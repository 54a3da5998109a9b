"""A notebook open in JupyterLab, driven through Playwright.

Running cells by clicking menus needs guards (focus, "Run All Cells" enabled); JupyterLab's own
command registry, exposed with ``--LabApp.expose_app_in_browser=True``, is the reliable way:
wait until the notebook's kernel is idle, then execute ``notebook:run-all-cells``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KERNEL_IDLE_MS", "open_and_run_all"]

KERNEL_IDLE_MS = 90_000

_KERNEL_IDLE = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
    && widget.sessionContext.session.kernel;
  return Boolean(kernel) && kernel.status === "idle";
}"""


def open_and_run_all(page: Any, url: str) -> None:
    """Open ``url`` (a ``/lab/tree/NB.ipynb?token=...`` link) fresh and run every cell."""
    separator = "&" if "?" in url else "?"
    page.goto(f"{url}{separator}reset")  # ignore any saved workspace layout
    page.wait_for_function(_KERNEL_IDLE, timeout=KERNEL_IDLE_MS)
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

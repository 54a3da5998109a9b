"""The environment banner: which service a click would reset, always in view.

Resetting in production when you meant staging is the mistake a panel must make hard. The
banner names the endpoint and project (or SANDBOX) at the top of the panel, in a colour that
differs between the sandbox and a real service, and repeats any note about where the history
is written.
"""

from __future__ import annotations

import ipywidgets as w

from ..history import SANDBOX_LABEL
from ._html import esc

__all__ = ["EnvironmentBanner"]

_SANDBOX_STYLE = "background:#e8f5e9;border:1px solid #2e7d32;color:#1b5e20"
_REAL_STYLE = "background:#fdecea;border:2px solid #b71c1c;color:#7f0000"


class EnvironmentBanner(w.HTML):  # type: ignore[misc]
    """``EnvironmentBanner(client.environment, sandbox=client.is_sandbox)``; the label alone
    (``EnvironmentBanner("SANDBOX")``, ``EnvironmentBanner("host / project X")``) is read as
    the client reads it.

    CSS classes: ``roma-env-banner`` plus ``roma-env-sandbox`` or ``roma-env-real``.
    """

    def __init__(
        self, environment: str, *, sandbox: bool | None = None, note: str | None = None
    ) -> None:
        super().__init__()
        self.add_class("roma-env-banner")
        self.environment = environment
        self.is_sandbox = environment == SANDBOX_LABEL if sandbox is None else sandbox
        self.set_note(note)

    def set_note(self, note: str | None) -> None:
        if self.is_sandbox:
            self.add_class("roma-env-sandbox")
            style, text = _SANDBOX_STYLE, "SANDBOX — a local fake ROMA Connect; nothing real"
        else:
            self.add_class("roma-env-real")
            style, text = _REAL_STYLE, f"REAL environment: {self.environment}"
        extra = f'<div style="font-weight:normal">{esc(note)}</div>' if note else ""
        self.value = (
            f'<div style="{style};padding:6px 10px;border-radius:4px;font-weight:bold">'
            f"Environment: {esc(text)}{extra}</div>"
        )

"""Who made an attempt, against what, and where the history lives when nobody says.

A reset is only auditable if the row says which environment it hit and who sent it. The endpoint
is reduced to a label (``SANDBOX`` or a host name) on the way in, so a URL that carries
credentials (``https://user:pw@host/?token=...``) can never put them into the history.

The default file is ``ROMA_NB_HISTORY``, else ``history.sqlite3`` in the per-user data directory,
which follows each platform's convention (XDG on Linux, Application Support on macOS,
LOCALAPPDATA on Windows), so the file survives notebook servers and virtualenvs coming and going,
and every kernel of the same user finds the same audit trail.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from ..errors import ValidationError
from ..models import SANDBOX_LABEL

__all__ = [
    "ENV_VAR",
    "SANDBOX_LABEL",
    "RecordContext",
    "default_actor",
    "default_history_path",
    "endpoint_label",
    "user_data_dir",
]

ENV_VAR = "ROMA_NB_HISTORY"
_APP_DIR = "roma-nb"
_FILE_NAME = "history.sqlite3"


def user_data_dir() -> Path:
    """The per-user data directory of roma_nb (not created here)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / _APP_DIR
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / _APP_DIR
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    base_path = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base_path / _APP_DIR


def default_history_path() -> Path:
    """``$ROMA_NB_HISTORY`` if set and not empty, else ``<user data dir>/history.sqlite3``."""
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return user_data_dir() / _FILE_NAME


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown-user"


def _kernel_id() -> str | None:
    """The Jupyter kernel id when running inside one, without importing ipykernel otherwise."""
    if "ipykernel" not in sys.modules:
        return None
    try:
        from ipykernel.connect import get_connection_file

        name = os.path.basename(get_connection_file())
    except Exception:  # not in a kernel after all, or an ipykernel without this helper
        return None
    if name.startswith("kernel-") and name.endswith(".json"):
        return name[len("kernel-") : -len(".json")]
    return None


def default_actor() -> str:
    """``user@host pid N`` plus ``kernel <id>`` inside Jupyter: enough to find who sent it."""
    actor = f"{_user()}@{socket.gethostname()} pid {os.getpid()}"
    kernel = _kernel_id()
    return f"{actor} kernel {kernel}" if kernel else actor


def endpoint_label(endpoint: str | None) -> str | None:
    """``SANDBOX`` stays, a URL becomes ``host[:port]``; user info, path and query are dropped."""
    if endpoint is None:
        return None
    text = endpoint.strip()
    if text.upper() == SANDBOX_LABEL:
        return SANDBOX_LABEL
    if "://" not in text:
        # A bare host is already a label; anything after a '/' or '?' is not needed to name it.
        text = text.split("/", 1)[0].split("?", 1)[0]
        return text.rsplit("@", 1)[-1] or None
    parts = urlsplit(text)
    try:
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # a malformed port: keep the host part only
        host, port = parts.netloc.rsplit("@", 1)[-1].split(":", 1)[0], None
    if not host:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{port}" if port else host


@dataclass(frozen=True, slots=True)
class RecordContext:
    """What every row written through a ``ResultLog`` is stamped with.

    ``endpoint_label`` is passed through :func:`endpoint_label`, so giving it a full URL is safe.
    ``plan_id`` is the plan file being applied, if any (``roma_nb.plans``): "which plan did
    this?" is then one filter on the history.
    """

    project_id: str | None = None
    endpoint_label: str | None = None
    actor: str = field(default_factory=default_actor)
    plan_id: str | None = None

    def __post_init__(self) -> None:
        # Checked here, once, rather than on every row written with it.
        for name in ("project_id", "endpoint_label", "actor", "plan_id"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{name} must be a string, not {type(value).__name__}.")
        object.__setattr__(self, "endpoint_label", endpoint_label(self.endpoint_label))

    @classmethod
    def of(cls, client: Located, *, plan_id: str | None = None) -> RecordContext:
        """The context of rows written for ``client``: its project, and SANDBOX or its host
        (and the ``plan_id`` of the plan being applied)."""
        return cls(
            project_id=client.project_id, endpoint_label=client.endpoint_label, plan_id=plan_id
        )


class Located(Protocol):
    """What ``RecordContext.of`` reads from a client (the history never imports the client)."""

    @property
    def project_id(self) -> str: ...

    @property
    def endpoint_label(self) -> str: ...

"""Where the history lives when nobody says: ``ROMA_NB_HISTORY``, else a per-user data directory.

The per-user directory follows each platform's convention (XDG on Linux, Application Support on
macOS, LOCALAPPDATA on Windows) so the file survives notebook servers and virtualenvs coming and
going, and every kernel of the same user finds the same audit trail.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["ENV_VAR", "default_history_path", "user_data_dir"]

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

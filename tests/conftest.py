"""Shared test fixtures.

The sandbox fixtures (``roma_sandbox``, ``roma_sandbox_factory``) come from the ``roma_nb``
pytest plugin (``roma_nb/sandbox/pytest_plugin.py``), loaded through its entry point.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from debug_capture import DebugCapture, capture_debug_logs


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away HOME: the official SDK writes ``~/.huaweicloud/application_id`` there."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def debug_log() -> Iterator[DebugCapture]:
    """Everything httpx, httpcore and roma_nb log at DEBUG during the test."""
    with capture_debug_logs() as capture:
        yield capture

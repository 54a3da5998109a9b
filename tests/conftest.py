"""Shared test fixtures.

The sandbox fixtures (``roma_sandbox``, ``roma_sandbox_factory``) come from the ``roma_nb``
pytest plugin (``roma_nb/sandbox/pytest_plugin.py``), loaded through its entry point.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from debug_capture import DebugCapture, capture_debug_logs
from hypothesis import settings
from sandbox_http import api_client

from roma_nb.auth import TokenAuth
from roma_nb.client import RomaClient
from roma_nb.sandbox import Sandbox

# Hypothesis's per-example deadline (200 ms) is a timed assertion: on a busy CI machine one slow
# first call (a cold import, a page fault, the other job's burst) fails an example whose logic
# passed, as ``test_a_record_counting_server_costs_no_extra_request`` did once. Time is measured
# by ``bench/``, not asserted here, so no property test has a deadline.
settings.register_profile("roma_nb", deadline=None)
settings.load_profile("roma_nb")


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


@pytest.fixture
def api(roma_sandbox: Sandbox) -> Iterator[httpx.Client]:
    """Raw httpx on the session's sandbox API (``/v2/{project_id}``), with its token."""
    with api_client(roma_sandbox) as http:
        yield http


@pytest.fixture
def client(roma_sandbox: Sandbox) -> Iterator[RomaClient]:
    """A client for the session's sandbox, labelled SANDBOX as ``connect("sandbox")`` does."""
    with RomaClient(
        roma_sandbox.url,
        project_id=roma_sandbox.project_id,
        auth=TokenAuth(roma_sandbox.token),
        label="SANDBOX",
    ) as sandbox_client:
        yield sandbox_client


@pytest.fixture
def fresh_instance_memory() -> Iterator[None]:
    """The panel remembers instances per environment, process-wide: start and end with none."""
    from roma_nb.panel import forget_instances

    forget_instances()
    yield
    forget_instances()


@pytest.fixture(scope="session")
def _lenient_sandbox_server() -> Iterator[Sandbox]:
    from roma_nb.sandbox import serve

    with serve(refuse_running=False) as sandbox:
        yield sandbox


@pytest.fixture
def lenient_sandbox(_lenient_sandbox_server: Sandbox) -> Sandbox:
    """A sandbox that resets running tasks (``refuse_running=False``), reset for this test.

    For the tests of the *raw* reset call (the client's ``reset_combined_task`` / ``reset_many``,
    the panel's expert reset, retries and faults), which reset whatever tasks they pick, running
    or not. A module of such tests overrides ``roma_sandbox`` with it, saying so. The default
    sandbox refuses them (FDI.3023), as the real service may: a rewind stops them first.
    """
    _lenient_sandbox_server.reset_state()
    return _lenient_sandbox_server


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Voilà serving the runbook as ``make demo`` configures it (``ROMA_NB_ENDPOINT=sandbox``,
    its own history file): each page load runs it in a new kernel with its own sandbox."""
    from browser.kernels import isolated_env
    from browser.panel_page import RUNBOOK
    from browser.servers import start_voila

    base = tmp_path_factory.mktemp("voila")
    env = isolated_env(
        base / "home",
        {"ROMA_NB_ENDPOINT": "sandbox", "ROMA_NB_HISTORY": str(base / "history.sqlite")},
    )
    server = start_voila(RUNBOOK, env=env, log_path=base / "voila.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright, one per test module."""
    from browser.chromium import chromium_browser

    with chromium_browser() as chromium:
        yield chromium

"""pytest fixtures for testing against the sandbox (registered as the ``pytest11`` entry point
``roma_nb``, so they are available wherever roma-nb is installed).

* ``roma_sandbox`` — a running sandbox with default options over a real socket. One server
  serves the whole session; its state is reset before each test (fresh data, no records, faults
  or refused tokens), so tests stay independent and cheap.
* ``roma_sandbox_factory`` — ``factory(**options) -> Sandbox`` starts a server of its own with
  ``serve()`` options (``tasks_per_instance=10_000``, ``offset_mode="pages"``,
  ``ssl_certfile=...``); each is stopped when the test ends.

Nothing heavy is imported until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .server import Sandbox

__all__ = ["roma_sandbox", "roma_sandbox_factory"]


@pytest.fixture(scope="session")
def _roma_sandbox_server() -> Iterator[Sandbox]:
    from .server import serve

    with serve() as sandbox:
        yield sandbox


@pytest.fixture
def roma_sandbox(_roma_sandbox_server: Sandbox) -> Sandbox:
    """The session's sandbox, reset to its default state for this test."""
    _roma_sandbox_server.reset_state()
    return _roma_sandbox_server


@pytest.fixture
def roma_sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes with their own options; all are stopped after the test."""
    from .server import serve

    with ExitStack() as stack:

        def start(**options: Any) -> Sandbox:
            return stack.enter_context(serve(**options))

        yield start

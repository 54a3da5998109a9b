"""A local fake ROMA Connect: the FDI endpoints our client calls, with their real shapes, limits and
error bodies, over seeded deterministic data; it records every call and reset for tests.

Four ways to run it:

* over a real socket: ``with serve(tasks_per_instance=50) as sandbox: ...`` (``sandbox.url``,
  ``sandbox.project_id``, ``sandbox.token``, ``sandbox.calls``, ``sandbox.resets``);
* in pytest: the fixtures ``roma_sandbox`` and ``roma_sandbox_factory`` (``pytest_plugin``,
  loaded automatically through the ``pytest11`` entry point);
* in-process: ``httpx.ASGITransport(app=create_app(state))`` (see ``app``);
* from a shell: ``roma-nb sandbox`` or ``python -m roma_nb.sandbox``.

Tasks live as on the real service (``lifecycle``): the batch call starts and stops them after
``start_delay_ms`` / ``stop_delay_ms``, a start after a reset begins an execution reading from
``date_from`` (or failing with code 103 beyond ``log_retention_days``), and
``refuse_running=True`` refuses to reset a running task; ``sandbox.advance(ms)`` moves the
lifecycle's clock so a test sees a delayed change without sleeping.

Trouble on demand: ``sandbox.inject("throttle", match=task_id)`` (and the other kinds of
``faults``, among them ``stop_fails``, ``start_fails``, ``stuck_stopping`` and ``late_stopping``
for single tasks of a batch call), ``sandbox.set_latency(ms)``, ``sandbox.set_rate_limit(rps)``,
``sandbox.clear()``; the same over HTTP under ``/_sandbox/`` (``control``) for notebooks and other
processes.

Credentials work like Huawei's gateway (``credentials``): ``X-Auth-Token`` (any token unless
``strict_tokens``; tokens from its IAM ``POST /v3/auth/tokens`` expire), or ``SDK-HMAC-SHA256``
signatures verified with the seeded ``sandbox.ak`` / ``sandbox.sk`` (``signature``).

It never imports the client: it is an independent server that shares only plain constants.
Names are loaded on first use so that importing this package (as pytest does for the plugin)
does not import Starlette or uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .accounts import SandboxUser
    from .app import create_app
    from .faults import FAULT_KINDS, TASK_FAULT_KINDS, Fault
    from .records import Call, Login, ResetRecord
    from .server import Sandbox, serve
    from .state import SandboxOptions, SandboxState, options_from_environment

__all__ = [
    "FAULT_KINDS",
    "TASK_FAULT_KINDS",
    "Call",
    "Fault",
    "Login",
    "ResetRecord",
    "Sandbox",
    "SandboxOptions",
    "SandboxState",
    "SandboxUser",
    "create_app",
    "options_from_environment",
    "serve",
]

_WHERE = {
    "FAULT_KINDS": "faults",
    "TASK_FAULT_KINDS": "faults",
    "Fault": "faults",
    "Call": "records",
    "Login": "records",
    "ResetRecord": "records",
    "Sandbox": "server",
    "SandboxOptions": "state",
    "SandboxState": "state",
    "SandboxUser": "accounts",
    "create_app": "app",
    "options_from_environment": "state",
    "serve": "server",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

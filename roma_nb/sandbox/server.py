"""``serve()``: the sandbox on a real socket, uvicorn in a background thread.

``serve()`` binds the socket itself (port 0 picks a free one, known before uvicorn starts), runs
uvicorn's ``Server.run`` in a daemon thread, and returns only once uvicorn reports it is
serving, so the first request never races the start-up. On exit it asks uvicorn to stop, waits
for the thread and closes the socket; idle keep-alive connections are closed by uvicorn, and a
request still waiting out latency or a ``slow`` fault has its connection closed at once
(``graceful_shutdown_s`` is only the last resort).

uvicorn runs with ``lifespan="off"``, ``ws="none"`` (no websockets import), no access log and
no logging configuration of its own, so starting a sandbox changes nothing global.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .accounts import SandboxUser
from .app import create_app
from .faults import Fault, RateLimiter
from .records import Call, Login, ResetRecord
from .state import SandboxState

__all__ = ["Sandbox", "serve"]

_START_TIMEOUT_S = 15.0


class Sandbox:
    """A running sandbox: where it is, its state, and the levers tests pull.

    ``url`` is the endpoint base (``http://127.0.0.1:PORT``): clients call
    ``{url}/v2/{project_id}/...``. ``token`` is a token the sandbox always accepts.
    """

    def __init__(self, state: SandboxState, url: str) -> None:
        self.state = state
        self.url = url

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r}, project_id={self.project_id!r})"

    @property
    def project_id(self) -> str:
        return self.state.project_id

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def users(self) -> dict[str, SandboxUser]:
        """IAM users for ``/v3/auth/tokens``: name -> ``SandboxUser(name, password, domain)``."""
        return self.state.users

    @property
    def username(self) -> str:
        """The seeded IAM user (its password and domain are in ``users``)."""
        return self.state.accounts.username

    @property
    def ak(self) -> str:
        """The seeded access key; requests signed with it and ``sk`` are accepted."""
        return self.state.ak

    @property
    def sk(self) -> str:
        return self.state.sk

    @property
    def iam_url(self) -> str:
        """IAM's endpoint (the same server): ``{iam_url}/v3/auth/tokens``."""
        return self.url

    def expire_tokens(self) -> None:
        """Expire every token the sandbox issued so far (next use: 401 APIGW.0307)."""
        self.state.expire_tokens()

    @property
    def calls(self) -> list[Call]:
        return self.state.calls

    @property
    def resets(self) -> list[ResetRecord]:
        return self.state.resets

    @property
    def logins(self) -> list[Login]:
        return self.state.logins

    @property
    def env(self) -> dict[str, str]:
        """The environment variables that point ``roma_nb`` (and ``roma-nb``) at this sandbox."""
        return {
            "ROMA_NB_ENDPOINT": self.url,
            "HUAWEICLOUD_SDK_PROJECT_ID": self.project_id,
            "ROMA_NB_TOKEN": self.token,
        }

    def clear_records(self) -> None:
        self.state.clear_records()

    def reset_state(self) -> None:
        """Back to the state's options: fresh data, no records, faults or refusals."""
        self.state.reset()

    def reject_token(self, token: str) -> None:
        self.state.reject_token(token)

    def deny(self, credential: str) -> None:
        self.state.deny(credential)

    def set_latency(self, latency_ms: float) -> None:
        self.state.set_latency(latency_ms)

    def set_rate_limit(self, rps: float | None, burst: int | None = None) -> None:
        self.state.set_rate_limit(rps, burst)

    def delete_task(self, instance_id: str, task_id: str) -> bool:
        """Delete a task (as in the console): gone from lists, "does not exist" to calls."""
        return self.state.delete_task(instance_id, task_id)

    def advance(self, ms: float) -> None:
        """Move the task lifecycle's clock ``ms`` forward: a start or stop accepted with a
        ``start_delay_ms`` / ``stop_delay_ms`` becomes visible once its delay has passed."""
        self.state.advance(ms)

    @property
    def rate_limit(self) -> RateLimiter | None:
        return self.state.rate_limit

    def inject(
        self, kind: str, *, times: int | None = 1, match: str | None = None, **params: Any
    ) -> Fault:
        """Queue a fault for the next ``times`` requests whose path contains ``match``.

        Kinds: throttle, unavailable, server_error, bad_gateway_html, drop, slow, task_running,
        expired_token; and per task of a batch start/stop call (``match``: the task id):
        stop_fails, start_fails, stuck_stopping, late_stopping (see ``roma_nb.sandbox.faults``
        for parameters and what clients see).
        """
        return self.state.inject(kind, times=times, match=match, **params)

    def clear(self) -> None:
        """Remove queued faults and the rate limit."""
        self.state.clear()

    @property
    def faults(self) -> list[Fault]:
        return self.state.faults


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and accepted sockets inherit proto 0 from a plain socket(). Without it every
    # keep-alive request waits ~40 ms for a delayed ACK (Nagle), which slows every test.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextmanager
def serve(
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    state: SandboxState | None = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    graceful_shutdown_s: int = 2,
    **options: Any,
) -> Iterator[Sandbox]:
    """Run the sandbox on ``host:port`` while the ``with`` block runs; yields a ``Sandbox``.

    ``options`` are ``SandboxOptions`` names (``seed``, ``tasks_per_instance``, ``latency_ms``,
    ``offset_mode``, ``honour_task_mode``, ``refuse_running``, ``start_delay_ms``,
    ``stop_delay_ms``, ``log_retention_days``, ...), used when ``state`` is not given. With
    ``ssl_certfile``/``ssl_keyfile`` it serves HTTPS and ``url`` starts ``https://``.
    """
    import uvicorn

    if state is None:
        state = SandboxState(**options)
    elif options:
        raise TypeError("pass either state or SandboxState options, not both")
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    app = create_app(state)
    config = uvicorn.Config(
        app,
        lifespan="off",
        ws="none",
        http="h11",
        log_config=None,
        log_level="warning",
        access_log=False,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        timeout_graceful_shutdown=graceful_shutdown_s,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"roma-sandbox:{bound_port}"
    )
    thread.daemon = True
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server stopped during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start in time")
            time.sleep(0.005)
        scheme = "https" if ssl_certfile else "http"
        yield Sandbox(state, f"{scheme}://{host}:{bound_port}")
    finally:
        app.state.closing.set()
        server.should_exit = True
        thread.join(timeout=graceful_shutdown_s + 10)
        sock.close()

"""Jupyter servers started by tests: a free port, readiness, logs, and a clean stop.

Readiness is asked of ``/api/status``, never of a notebook URL: every GET of a notebook page
starts a kernel and runs the notebook. A single-notebook Voilà answers ``/api/status`` with a
redirect; any answer below 500 means the server is up.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from roma_nb.demo import ServerProcess, free_port

__all__ = ["Server", "free_port", "start_server", "start_voila"]

_READY_TIMEOUT_S = 90.0


@dataclass
class Server(ServerProcess):
    """A server process started by a test (``url`` is its base URL)."""

    @property
    def url(self) -> str:
        return self.base_url


def start_server(
    name: str,
    command: Sequence[str],
    port: int,
    *,
    env: Mapping[str, str],
    cwd: Path,
    log_path: Path,
) -> Server:
    """Start ``command`` and return once ``http://127.0.0.1:{port}/api/status`` answers."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + _READY_TIMEOUT_S
    with httpx.Client(timeout=2.0) as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited while starting:\n{server.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{server.url}/api/status").status_code < 500:
                    return server
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"{name} did not start:\n{server.log_tail()}")
            time.sleep(0.2)


def start_voila(notebook: Path, *, env: Mapping[str, str], log_path: Path) -> Server:
    """Voilà serving one notebook on 127.0.0.1 (each page load runs it in a new kernel)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
    ]
    return start_server("Voilà", command, port, env=env, cwd=notebook.parent, log_path=log_path)

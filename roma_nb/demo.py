"""``roma-nb demo``: the sandbox and JupyterLab on the runbook, configured, behind one URL.

What it does, in order, and why:

1. copies the repository's notebooks into a work directory (a fresh temporary one unless
   ``--dir`` is given), because JupyterLab autosaves: the committed notebooks must stay clean;
2. starts JupyterLab on 127.0.0.1 with a random token, its kernels configured for the sandbox
   through the variables a user would set: ``ROMA_NB_ENDPOINT=sandbox`` (each kernel's
   ``connect()`` starts the local fake ROMA Connect, labelled ``SANDBOX`` in every banner and
   confirmation; ``ROMA_NB_SANDBOX_OPTIONS`` gives its tasks a visible start and stop delay)
   and ``ROMA_NB_HISTORY`` in the work directory. Every other ``ROMA_NB_*`` and
   ``HUAWEICLOUD_SDK_*`` variable of the calling shell is removed, so a region or credentials
   set there can never turn the demo into a session against a real cloud. JupyterLab gets its
   own configuration directory (no personal setting changes what the demo shows; the news
   pop-up is off) and logs to the work directory;
3. waits until ``/api/status`` answers, prints the one URL to open, and runs until Ctrl-C (or
   SIGTERM), then stops JupyterLab (which shuts its kernels down, and with them their
   sandboxes) and removes a temporary work directory.

The sandbox runs inside each kernel rather than once for all: a sandbox reached through its URL
would be labelled like any other endpoint (``127.0.0.1:PORT / project …``) and the panel would
warn of a REAL environment, which is exactly the wrong lesson for a demo.

Nothing here is needed by the library itself; it only makes ``make demo`` a one-step affair.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

import httpx

__all__ = [
    "DEMO_SANDBOX_OPTIONS",
    "RUNBOOK",
    "DemoError",
    "LabServer",
    "ServerProcess",
    "demo_environment",
    "find_notebooks",
    "free_port",
    "lab_command",
    "prepare_workdir",
    "run_demo",
    "start_lab",
]

RUNBOOK = "reset_combined_task.ipynb"
_NEWS_EXTENSION = "@jupyterlab/apputils-extension:announcements"
_CONFIG_PREFIXES = ("ROMA_NB_", "HUAWEICLOUD_SDK_")
_READY_TIMEOUT_S = 120.0


class DemoError(RuntimeError):
    """The demo cannot start; the message says why and what to do."""


def find_notebooks(explicit: Path | None = None) -> Path:
    """The notebooks directory: ``explicit``, else the repository's ``notebooks/``.

    The notebooks are not part of the wheel; from an installed package, pass ``--notebooks``.
    """
    candidates = (
        [explicit]
        if explicit is not None
        else [
            Path(__file__).resolve().parent.parent / "notebooks",
            Path.cwd() / "notebooks",
        ]
    )
    for candidate in candidates:
        if candidate is not None and (candidate / RUNBOOK).is_file():
            return candidate
    raise DemoError(
        f"cannot find {RUNBOOK}: run the demo from a clone of the repository, or pass "
        "--notebooks DIR (the directory holding the notebooks)."
    )


def prepare_workdir(notebooks: Path, workdir: Path) -> list[Path]:
    """Copy the notebooks into ``workdir``; notebooks already there (edited ones) are kept."""
    workdir.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in sorted(notebooks.glob("*.ipynb")):
        target = workdir / source.name
        if not target.exists():
            shutil.copyfile(source, target)
        copied.append(target)
    config = workdir / ".jupyter" / "config" / "labconfig"
    config.mkdir(parents=True, exist_ok=True)
    (config / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {_NEWS_EXTENSION: True}}), encoding="utf-8"
    )
    return copied


def free_port(preferred: int = 0, host: str = "127.0.0.1") -> int:
    """``preferred`` if it can be bound now, else a free port chosen by the system."""
    for port in (preferred, 0) if preferred else (0,):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise DemoError(f"no free port on {host}")  # pragma: no cover - the system always has one


def lab_command(workdir: Path, port: int, token: str) -> list[str]:
    """The JupyterLab command line: local only, no browser, the runbook's folder as root."""
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={workdir}",
        f"--IdentityProvider.token={token}",
        f"--LabApp.workspaces_dir={workdir / '.jupyter' / 'workspaces'}",
        "--LabApp.news_url=",
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers often run as root; Jupyter refuses otherwise
    return command


@dataclass
class ServerProcess:
    """A server process we started: its base URL, its log file, and a clean stop."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, as Jupyter expects (it shuts its kernels down), then kill if it hangs."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class LabServer(ServerProcess):
    """A running JupyterLab: its process, URL base and token."""

    token: str = ""

    def url(self, notebook: str = RUNBOOK) -> str:
        return f"{self.base_url}/lab/tree/{notebook}?token={self.token}"


def start_lab(
    workdir: Path, port: int, environment: Mapping[str, str], *, token: str | None = None
) -> LabServer:
    """Start JupyterLab and return once ``/api/status`` answers (``DemoError`` if it cannot)."""
    token = token or secrets.token_hex(24)
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(_CONFIG_PREFIXES)}
    env = {
        **inherited,
        **environment,
        "JUPYTER_CONFIG_DIR": str(workdir / ".jupyter" / "config"),
        "JUPYTER_RUNTIME_DIR": str(workdir / ".jupyter" / "runtime"),
    }
    log_path = workdir / ".jupyter" / "lab.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            lab_command(workdir, port, token),
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: a Ctrl-C in the terminal reaches only this process, which then
            # stops JupyterLab with SIGTERM (on SIGINT Jupyter would ask whether to stop).
            start_new_session=True,
        )
    server = LabServer(process, f"http://127.0.0.1:{port}", log_path, token)
    try:
        _wait_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: LabServer) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    headers = {"Authorization": f"token {server.token}"}
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise DemoError(f"JupyterLab stopped while starting:\n{server.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{server.base_url}/api/status", headers=headers).status_code == 200:
                    return
            time.sleep(0.25)
    raise DemoError(
        f"JupyterLab did not answer within {_READY_TIMEOUT_S:.0f} s:\n{server.log_tail()}"
    )


@contextlib.contextmanager
def _workdir(explicit: Path | None) -> Iterator[Path]:
    if explicit is not None:
        yield explicit.resolve()
        return
    path = Path(tempfile.mkdtemp(prefix="roma-nb-demo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


DEMO_SANDBOX_OPTIONS = {"start_delay_ms": 1500, "stop_delay_ms": 1500}
"""Starting and stopping a task takes a visible moment in the demo, as on the real service."""


def demo_environment(workdir: Path) -> dict[str, str]:
    """What the kernels need: the embedded sandbox (tasks that take a moment to start and
    stop), and a history in the work directory."""
    return {
        "ROMA_NB_ENDPOINT": "sandbox",
        "ROMA_NB_HISTORY": str(workdir / "history.sqlite"),
        "ROMA_NB_SANDBOX_OPTIONS": json.dumps(DEMO_SANDBOX_OPTIONS),
    }


def run_demo(
    *,
    port: int = 8888,
    workdir: Path | None = None,
    notebooks: Path | None = None,
    out: TextIO | None = None,
) -> int:
    """Run the demo until Ctrl-C or SIGTERM; 0 on a clean stop, 1 if something failed."""
    stream = out if out is not None else sys.stdout
    source = find_notebooks(notebooks)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with _workdir(workdir) as folder:
            prepare_workdir(source, folder)
            lab = start_lab(folder, free_port(port), demo_environment(folder))
            try:
                print(
                    "\nroma-nb demo is ready: the runbook, against the sandbox (a local fake "
                    f"ROMA Connect). Open\n\n    {lab.url()}\n\nCtrl-C stops everything.",
                    file=stream,
                    flush=True,
                )
                while lab.process.poll() is None:
                    time.sleep(0.5)
                print(f"JupyterLab exited:\n{lab.log_tail()}", file=sys.stderr)
                return 1
            finally:
                lab.stop()
    except KeyboardInterrupt:
        print("Stopped JupyterLab.", file=stream, flush=True)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)

"""One client call against a hostile server, in a process of its own: how long, how much memory.

``python tests/hostile_child.py URL CALL [CLIENT_OPTIONS_JSON]`` prints one JSON line:
``{"seconds", "max_rss_mb", "outcome", "error", "count"}``. ``CALL`` is ``reset``,
``reset_many``, ``list_instances`` or ``list_tasks``; the option ``iam`` (a URL) makes the
client log in there with ``PasswordAuth`` instead of sending a fixed token. The peak RSS is the
kernel's (``VmHWM``) for this program's own address space, so a test can bound memory without
trusting its own process, which pytest and other tests share.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hostile_server import PROJECT_ID

from roma_nb.auth import PasswordAuth, TokenAuth
from roma_nb.client import RomaClient


def in_child(url: str, call: str, **options: Any) -> dict[str, Any]:
    """Run one call in a process of its own (this program); its JSON report."""
    done = subprocess.run(
        [sys.executable, __file__, url, call, json.dumps(options)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def peak_rss_mb() -> float:
    """The peak RSS of this program's own address space (``VmHWM``), in MB.

    Not ``getrusage``'s ``ru_maxrss``: Linux carries it over ``execve`` from the address space
    the child was forked (or vforked) from, so a child of a 450 MB pytest reports at least 450 MB
    whatever it does itself. ``VmHWM`` belongs to the address space ``execve`` created.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux: the portable reading, an upper bound
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    return round(int(kib) / 1024, 1)


def run(url: str, call: str, options: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    outcome: str | None = None
    error: str | None = None
    count: int | None = None
    iam = options.pop("iam", None)
    auth = (
        TokenAuth("t" * 40)
        if iam is None
        else PasswordAuth("alice", "pw" * 10, "domain", project_name="cn-north-4", iam_endpoint=iam)
    )
    with RomaClient(url, project_id=PROJECT_ID, auth=auth, **options) as client:
        try:
            if call == "reset":
                outcome = client.reset_combined_task("i-1", "t-1", None).outcome
            elif call == "reset_many":
                results = client.reset_many([("i-1", f"t-{n}") for n in range(3)])
                outcome = ",".join(r.outcome for r in results)
                error = " | ".join(r.message or "" for r in results)
            elif call == "list_instances":
                count = len(client.list_instances())
            elif call == "list_tasks":
                count = len(client.list_tasks("i-1"))
            else:
                raise SystemExit(f"unknown call {call!r}")
        except Exception as exc:  # what the test wants to read
            outcome = type(exc).__name__
            error = str(exc)
    return {
        "seconds": round(time.monotonic() - started, 2),
        "max_rss_mb": peak_rss_mb(),
        "outcome": outcome,
        "error": error,
        "count": count,
    }


if __name__ == "__main__":
    opts = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    print(json.dumps(run(sys.argv[1], sys.argv[2], opts)), flush=True)

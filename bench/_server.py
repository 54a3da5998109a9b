"""The sandbox in a process of its own, for the client benchmarks.

A real service runs elsewhere: served from a thread of the benchmark's own process, the sandbox
would share its interpreter lock with the client measured, so every figure would include the
server's CPU and swing with how the two threads happened to take turns. Run as
``python -m bench._server '<options as JSON>'``: prints one JSON line (``url``, ``project_id``
and the sandbox's AK/SK where it has them), then serves until its stdin is closed.

Options the sandbox of the code being measured does not know are dropped, so the same benchmark
runs against an older checkout (before/after figures in one run).
"""

from __future__ import annotations

import dataclasses
import json
import sys

from roma_nb.sandbox import serve
from roma_nb.sandbox.state import SandboxOptions


def main() -> None:
    wanted = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    known = {field.name for field in dataclasses.fields(SandboxOptions)}
    with serve(**{k: v for k, v in wanted.items() if k in known}) as sb:
        where = {
            "url": sb.url,
            "project_id": sb.project_id,
            "ak": getattr(sb, "ak", None),
            "sk": getattr(sb, "sk", None),
        }
        print(json.dumps(where), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()

"""``roma-nb demo``: the sandbox and JupyterLab on the runbook, and the one URL to open."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="JupyterLab on the runbook against a local fake ROMA Connect; prints the URL",
        description=(
            "Start JupyterLab on a copy of the notebooks, configured for the sandbox (a local "
            "fake ROMA Connect with seeded instances and tasks), and print the one URL to open. "
            "Ctrl-C stops everything. ROMA_NB_* and HUAWEICLOUD_SDK_* variables of this shell "
            "are not passed on: the demo never reaches a real cloud."
        ),
    )
    parser.add_argument(
        "--port", type=int, default=8888, help="JupyterLab port (default 8888, else a free one)"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help="keep the notebooks and history here (default: a temporary folder, removed at exit)",
    )
    parser.add_argument(
        "--notebooks",
        type=Path,
        metavar="DIR",
        help="the notebooks' folder (default: the repo's)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from ..demo import DemoError, run_demo
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installed extras
        print(
            f"roma-nb demo needs the demo extra ({exc.name} is missing): "
            "pip install 'roma-nb[demo]'",
            file=sys.stderr,
        )
        return 1
    try:
        return run_demo(
            port=args.port,
            workdir=args.dir,
            notebooks=args.notebooks,
        )
    except DemoError as exc:
        print(f"roma-nb demo: {exc}", file=sys.stderr)
        return 1

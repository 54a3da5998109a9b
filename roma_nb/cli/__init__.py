"""The ``roma-nb`` command: one sub-module per sub-command, each with ``register(subparsers)``.

Each sub-module adds its parser and sets ``func`` (``Callable[[argparse.Namespace], int]``) as the
parser default; ``main`` only dispatches, so a sub-command's imports (pandas, uvicorn, Jupyter)
cost nothing to the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import cast

__all__ = ["main"]

# Sub-command modules, in the order --help lists them.
_COMMANDS = ("sandbox", "demo", "instances", "tasks", "monitors", "reset", "history")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roma-nb",
        description=(
            "Inspect Huawei Cloud ROMA Connect FDI combined tasks and reset their progress, "
            "with every attempt recorded in a local history."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"roma_nb.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"roma_nb.cli.{name}":
                continue  # not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    return cast(Callable[[argparse.Namespace], int], func)(args)


if __name__ == "__main__":
    sys.exit(main())

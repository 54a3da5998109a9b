"""The ``roma-nb`` command: one sub-module per sub-command, each with ``register(subparsers)``.

Each sub-module adds its parser and sets ``func`` (``Callable[[argparse.Namespace], int]``) as the
parser default; ``main`` only dispatches, so a sub-command's imports (pandas, uvicorn, Jupyter)
cost nothing to the others.

What ``main`` adds for every sub-command, as shell users expect from ``git`` or ``kubectl``:

* ``roma-nb --version``;
* a time that starts with a dash is a value, not an option: ``--since -2h`` reads as
  ``--since=-2h`` (argparse alone stops with "expected one argument");
* an unknown option is reported with the sub-command's usage, not the top level's;
* output cut by its reader (``| head -1``) ends quietly with exit 141 (128 + SIGPIPE, what the
  shell reports for ``git log | head``), instead of a ``BrokenPipeError`` traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import cast

__all__ = ["EXIT_BROKEN_PIPE", "main"]

# Sub-command modules, in the order --help lists them.
_COMMANDS = (
    "sandbox",
    "demo",
    "instances",
    "tasks",
    "monitors",
    "reset",
    "rewind",
    "apply",
    "history",
)

EXIT_BROKEN_PIPE = 128 + 13
"""The reader of stdout went away (SIGPIPE is signal 13): what a shell reports for ``git``."""

_TIME_OPTIONS = frozenset({"--date-from", "--since", "--until"})
_DASH_VALUE = re.compile(r"-[0-9.]")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("roma-nb")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roma-nb",
        description=(
            "Inspect Huawei Cloud ROMA Connect FDI combined tasks and reset their progress, "
            "with every attempt recorded in a local history."
        ),
    )
    parser.add_argument("--version", action="version", version=f"roma-nb {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"roma_nb.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"roma_nb.cli.{name}":
                continue  # not built yet
            raise
        module.register(subparsers)
        # So that main can report an unknown option with this sub-command's usage.
        subparsers.choices[name].set_defaults(command_parser=subparsers.choices[name])
    return parser


def _attach_dash_values(argv: Sequence[str]) -> list[str]:
    """``--since -2h`` → ``--since=-2h`` for the time options; nothing after ``--``."""
    joined: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token == "--":
            return [*joined, *argv[index:]]
        following = argv[index + 1] if index + 1 < len(argv) else ""
        if token in _TIME_OPTIONS and _DASH_VALUE.match(following):
            joined.append(f"{token}={following}")
            index += 2
        else:
            joined.append(token)
            index += 1
    return joined


def _dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(
        _attach_dash_values(sys.argv[1:] if argv is None else argv)
    )
    if unknown:
        usage: argparse.ArgumentParser = getattr(args, "command_parser", parser)
        usage.error(f"unrecognized arguments: {' '.join(unknown)}")
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    return cast(Callable[[argparse.Namespace], int], func)(args)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _dispatch(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's advice for SIGPIPE: point stdout at devnull so the flush at exit cannot
        # raise again, and end without a traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":
    sys.exit(main())

"""What the ``roma-nb`` sub-commands share: connection flags, output formats, error handling.

Configuration is exactly ``connect()``'s: flags stand for its explicit arguments and win over the
environment (``ROMA_NB_ENDPOINT``, ``HUAWEICLOUD_SDK_PROJECT_ID``, ``ROMA_NB_TOKEN``, ...), which
wins over ``~/.huaweicloud/credentials``. There is deliberately no flag for a token, password or
secret key: a command line is visible to every user of the machine (``ps``) and lands in shell
history, so credentials come from the environment or the credentials file only.

Every listing is a list of rows (dicts with a fixed column order) printed as an aligned table for
people, or as CSV / JSON for programs. Times are printed as UTC ISO-8601; JSON keeps integers as
integers, so a ``date_from`` survives a round trip exactly. A table cuts long texts, never ids:
an id that cannot be copied whole is useless.

Errors reach stderr as one line in the shell's words (``_wording``): the flag or variable to
change, not the Python argument. Exit codes: 0 done, 1 the service refused or could not be
reached, 2 bad input or configuration (nothing sent), 3 a plan shown and not confirmed.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ConfigurationError, RomaError, TransportError, ValidationError
from ._wording import Words, explain_connection, for_shell

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..models import Instance

__all__ = [
    "EXECUTE_STATUSES",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Column",
    "HelpFormatter",
    "add_connection_arguments",
    "add_execute_status_argument",
    "add_format_argument",
    "client_from_args",
    "history_refusals",
    "iso_utc",
    "parse_time",
    "render",
    "resolve_instance",
    "run_guarded",
]

EXIT_OK = 0
EXIT_FAILED = 1
"""The service refused, could not be reached, or (for ``reset``) any target did not succeed."""
EXIT_USAGE = 2
"""Bad arguments or configuration: nothing was sent."""

FORMATS = ("table", "csv", "json")
EXECUTE_STATUSES = ("UNSTARTED", "WAITING", "RUNNING", "SUCCESS", "CANCELLED", "ERROR")
"""The task list's and monitors' ``execute_status`` values (``roma-api.md`` §2)."""

_CELL_WIDTH = 60
_CONNECT_ERROR = re.compile(r" \((?:ConnectError|ConnectTimeout)\)")


class HelpFormatter(argparse.HelpFormatter):
    """Wraps one-paragraph texts to the terminal; keeps texts with line breaks (examples) as
    written, so ``--help`` reads well in both."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


@dataclass(frozen=True)
class Column:
    """One output column: its header, how to read its value from a row object, and whether a
    table may cut a long value (never for ids, which people copy)."""

    name: str
    get: Callable[[Any], object]
    cut: bool = True


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--endpoint``, ``--region``, ``--project-id``, ``--ca-bundle``: ``connect()``'s."""
    group = parser.add_argument_group(
        "connection",
        "Default: the environment (ROMA_NB_ENDPOINT or ROMA_NB_REGION, HUAWEICLOUD_SDK_PROJECT_ID, "
        "ROMA_NB_TOKEN or HUAWEICLOUD_SDK_AK/_SK or ROMA_NB_USERNAME/_PASSWORD/_DOMAIN), then "
        "~/.huaweicloud/credentials. Credentials are never taken from the command line.",
    )
    group.add_argument(
        "--endpoint",
        metavar="URL",
        help="ROMA Connect endpoint URL, or 'sandbox' for a local fake started for this command",
    )
    group.add_argument("--region", metavar="REGION", help="region id, e.g. cn-north-4")
    group.add_argument("--project-id", metavar="ID", help="project id")
    group.add_argument(
        "--ca-bundle", metavar="PATH", help="CA bundle (file or directory) for a private endpoint"
    )


def _execute_status(text: str) -> str:
    """``error`` is ``ERROR``: the service knows only the upper-case words (else a 400)."""
    word = text.strip().upper()
    if word not in EXECUTE_STATUSES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an execute status; one of {', '.join(EXECUTE_STATUSES)} (any case)"
        )
    return word


def add_execute_status_argument(parser: argparse.ArgumentParser, help_prefix: str = "") -> None:
    parser.add_argument(
        "--execute-status",
        type=_execute_status,
        metavar="STATUS",
        help=f"{help_prefix}only tasks in this execute status: {', '.join(EXECUTE_STATUSES)}",
    )


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table for people (default), csv or json for programs",
    )


def client_from_args(args: argparse.Namespace) -> RomaClient:
    """``connect()`` with the flags as explicit arguments (``--endpoint sandbox`` included)."""
    from ..connection import connect

    endpoint: str | None = args.endpoint
    if endpoint is not None and endpoint.strip().lower() == "sandbox":
        return connect("sandbox")
    return connect(
        endpoint=endpoint,
        region=args.region,
        project_id=args.project_id,
        verify=args.ca_bundle,
    )


def resolve_instance(client: RomaClient, text: str) -> Instance:
    """The instance whose id is ``text``, else whose name is ``text`` (names are easier to type).

    A name shared by several instances is refused: guessing which one would be a guess about
    where a destructive call goes.
    """
    instances = client.list_instances()
    for instance in instances:
        if instance.id == text:
            return instance
    named = [i for i in instances if i.name == text]
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(i.id for i in named)
        raise ValidationError(f"Several instances are named {text!r} ({ids}): give the id.")
    known = ", ".join(f"{i.name} ({i.id})" for i in instances) or "none"
    raise ValidationError(
        f"No instance has the id or name {text!r} in {client.environment}. Instances: {known}."
    )


def iso_utc(ms: int | None) -> str | None:
    """Epoch milliseconds as ``2024-01-02T03:04:05Z`` (``.fff`` only when not zero)."""
    if ms is None:
        return None
    try:
        moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return str(ms)
    spec = "milliseconds" if ms % 1000 else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def parse_time(
    text: str, tz: str = "UTC", *, flag: str = "--since", now_ms: int | None = None
) -> int:
    """Epoch ms from ISO-8601 (naive read in ``tz``), integer ms, or a time relative to now
    (``90m``, ``-2h``, ``now-1d``, ``yesterday 02:00``: ``dates.resolve_time_text``). Errors name
    ``flag``, the option the text came from."""
    from ..dates import SECONDS_LIKE, resolve_time_text

    stripped = text.strip()
    if not stripped:
        raise ValidationError(f"{flag} is empty: give a time, or leave {flag} out.")
    if stripped.isdigit() and int(stripped) in SECONDS_LIKE:
        seconds = int(stripped)
        raise ValidationError(
            f"{flag} {stripped} looks like seconds ({iso_utc(seconds * 1000)}); {flag} takes "
            f"epoch milliseconds: use {seconds * 1000}."
        )
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    try:
        return resolve_time_text(text, tz, now_ms=now)
    except ValidationError as exc:
        raise ValidationError(f"{flag}: {exc}") from None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return _text(value)


def _cell(value: object, cut: bool = True) -> str:
    flat = " ".join(_text(value).split())
    return flat if not cut or len(flat) <= _CELL_WIDTH else flat[: _CELL_WIDTH - 1] + "…"


def _table(columns: Sequence[Column], rows: list[list[object]]) -> str:
    if not rows:
        return "(none)\n"
    headers = [c.name for c in columns]
    cuts = [c.cut for c in columns]
    cells = [headers, *([_cell(v, cut) for v, cut in zip(row, cuts, strict=True)] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def render(
    items: Iterable[object], columns: Sequence[Column], fmt: str, out: TextIO | None = None
) -> None:
    """Print ``items`` as a table, CSV (RFC 4180, empty cell for None) or a JSON list."""
    stream = out if out is not None else sys.stdout
    headers = [c.name for c in columns]
    rows = [[c.get(item) for c in columns] for item in items]
    if fmt == "json":
        objects = [{h: _json_value(v) for h, v in zip(headers, row, strict=True)} for row in rows]
        json.dump(objects, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt == "csv":
        # RFC 4180 line ends: with "\n" alone the csv module would not quote a bare "\r" in a
        # value (remarks come from the service), and the file would split the row.
        texts = [[_text(v) for v in row] for row in rows]
        if sys.version_info < (3, 11) and any("\0" in text for row in texts for text in row):
            # Python 3.10's csv module can neither write nor read it (3.11 can): nothing printed.
            raise ValidationError(
                "The answer holds a NUL character, which CSV cannot hold on Python 3.10: "
                "use --format json, or Python 3.11 or newer."
            )
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(headers)
        writer.writerows(texts)
    else:
        stream.write(_table(columns, rows))


@contextmanager
def history_refusals() -> Iterator[None]:
    """A history file refused when it is opened (a directory, not SQLite, unwritable) is bad
    input found before anything was sent: exit 2, like any other refusal of what was given."""
    from ..history import HistoryError

    try:
        yield
    except HistoryError as exc:
        raise ValidationError(str(exc)) from None


def _failure_text(exc: RomaError) -> str:
    text = str(exc)
    if isinstance(exc, TransportError):
        why = explain_connection(exc)
        if why is not None:
            text = f"{_CONNECT_ERROR.sub('', text)} Cause: {why}."
    return text


def run_guarded(prog: str, body: Callable[[], int], words: Words = ()) -> int:
    """Run a command's body; turn roma_nb's errors into one line on stderr and an exit code.

    Configuration and validation errors mean nothing was sent (exit 2); every other
    ``RomaError`` comes from the service or the network (exit 1). Messages are put in the
    shell's words (``words`` adds the command's own, e.g. its history flag). Tracebacks are for
    bugs.
    """
    try:
        return body()
    except (ConfigurationError, ValidationError) as exc:
        print(f"{prog}: {for_shell(str(exc), words)}", file=sys.stderr)
        return EXIT_USAGE
    except RomaError as exc:
        print(f"{prog}: {for_shell(_failure_text(exc), words)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130

"""What the ``roma-nb`` sub-commands share: connection flags, output formats, error handling.

Configuration is exactly ``connect()``'s: flags stand for its explicit arguments and win over the
environment (``ROMA_NB_ENDPOINT``, ``HUAWEICLOUD_SDK_PROJECT_ID``, ``ROMA_NB_TOKEN``, ...), which
wins over ``~/.huaweicloud/credentials``. There is deliberately no flag for a token, password or
secret key: a command line is visible to every user of the machine (``ps``) and lands in shell
history, so credentials come from the environment or the credentials file only.

Every listing is a list of rows (dicts with a fixed column order) printed as an aligned table for
people, or as CSV / JSON for programs. Times are printed as UTC ISO-8601; JSON keeps integers as
integers, so a ``date_from`` survives a round trip exactly.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import ConfigurationError, RomaError, ValidationError

if TYPE_CHECKING:
    from ..client import RomaClient
    from ..models import Instance

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Column",
    "HelpFormatter",
    "add_connection_arguments",
    "add_format_argument",
    "client_from_args",
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
_CELL_WIDTH = 60
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd])\s*", re.IGNORECASE)
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


class HelpFormatter(argparse.HelpFormatter):
    """Wraps one-paragraph texts to the terminal; keeps texts with line breaks (examples) as
    written, so ``--help`` reads well in both."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return "\n".join(indent + line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


@dataclass(frozen=True)
class Column:
    """One output column: its header and how to read its value from a row object."""

    name: str
    get: Callable[[Any], object]


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


def parse_time(text: str, tz: str = "UTC", *, now_ms: int | None = None) -> int:
    """Epoch ms from ISO-8601 (naive read in ``tz``), integer ms, or a duration ago (``90m``)."""
    from ..dates import to_epoch_ms

    duration = _DURATION.fullmatch(text)
    if duration:
        now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
        return now - int(float(duration.group(1)) * _UNIT_MS[duration.group(2).lower()])
    return to_epoch_ms(text, tz)


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


def _cell(value: object) -> str:
    flat = " ".join(_text(value).split())
    return flat if len(flat) <= _CELL_WIDTH else flat[: _CELL_WIDTH - 1] + "…"


def _table(headers: Sequence[str], rows: list[list[object]]) -> str:
    if not rows:
        return "(none)\n"
    cells = [list(headers), *([_cell(v) for v in row] for row in rows)]
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
        stream.write(_table(headers, rows))


def run_guarded(prog: str, body: Callable[[], int]) -> int:
    """Run a command's body; turn roma_nb's errors into one line on stderr and an exit code.

    Configuration and validation errors mean nothing was sent (exit 2); every other
    ``RomaError`` comes from the service or the network (exit 1). Tracebacks are for bugs.
    """
    try:
        return body()
    except (ConfigurationError, ValidationError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RomaError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130

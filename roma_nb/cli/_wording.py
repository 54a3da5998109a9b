"""The command line's words for errors that the Python API words for Python callers.

``connect()``, ``to_epoch_ms`` and ``ResultLog`` tell a Python caller what to pass
(``project_id=``, ``nonexistent=...``, ``roma_nb.connect('sandbox')``). A shell user has flags
and variables instead, so before an error reaches stderr the CLI swaps each such phrase for the
flag or variable that does the same (``--project-id``, the time with its UTC offset,
``--endpoint sandbox``). The API keeps its wording; ``tests/test_cli_wording.py`` checks that
every phrase below still occurs in the API's messages, so a rewording there fails a test instead
of leaking Python into the shell.

Connection failures are explained from their cause: an ``https`` URL against a plain-HTTP
server fails in the TLS handshake, a host that does not resolve fails in DNS; the client only
names the exception class (``ConnectError``).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator, Sequence

__all__ = ["CONNECTION", "DATES", "explain_connection", "for_shell"]

Words = Sequence[tuple[str, str]]

CONNECTION: Words = (
    ("(from endpoint=)", "(from --endpoint)"),
    ("(from region=)", "(from --region)"),
    ("(from verify=)", "(from --ca-bundle)"),
    ("project id from project_id=", "project id from --project-id"),
    (
        "pass a URL or region id (connect('cn-north-4'), region=, endpoint=), or set",
        "give --endpoint URL (or --endpoint sandbox) or --region REGION, or set",
    ),
    ("pass project_id=, or set", "give --project-id, or set"),
    ("pass auth=, or set", "set"),
    ("pass iam_endpoint=, set", "set"),
    ("give a region (ROMA_NB_REGION)", "give a region (--region or ROMA_NB_REGION)"),
    ("use roma_nb.connect('sandbox')", "use --endpoint sandbox"),
    (
        "pass verify='/path/to/ca.pem', or set ROMA_NB_CA_BUNDLE and use roma_nb.connect()",
        "give --ca-bundle /path/to/ca.pem or set ROMA_NB_CA_BUNDLE",
    ),
)
"""``roma_nb.config`` and the client's TLS refusal → the connection flags and variables."""

DATES: Words = (
    (
        ", or pass nonexistent='shift_backward' or 'shift_forward'.",
        " (or in UTC, ending in Z).",
    ),
    (
        "Pass ambiguous='earlier' or 'later', or give the time with its UTC offset.",
        "Give the time with its UTC offset (or in UTC, ending in Z) to say which.",
    ),
    (", or pass an int if you really mean milliseconds", ""),
)
"""``roma_nb.dates`` → what a time typed on the command line can say instead."""


def for_shell(message: str, words: Words = ()) -> str:
    """``message`` with each API phrase of ``words``, ``CONNECTION`` and ``DATES`` replaced."""
    for api, shell in (*words, *CONNECTION, *DATES):
        message = message.replace(api, shell)
    return message


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it was raised from or during (``from None`` still keeps the context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def explain_connection(exc: BaseException) -> str | None:
    """Why a connection failed, in a person's words, when its cause says so; else None."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return None  # the client's message already says the certificate is not trusted
        if isinstance(cause, ssl.SSLError):
            reason = cause.reason or type(cause).__name__
            return (
                f"the TLS handshake failed ({reason}). If the server speaks plain HTTP, "
                "give an http:// URL (--endpoint or ROMA_NB_ENDPOINT)"
            )
        if isinstance(cause, socket.gaierror):
            return (
                f"the host name does not resolve (DNS: {cause.strerror}). Check the host in "
                "--endpoint or ROMA_NB_ENDPOINT, and the network or VPN"
            )
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused: nothing listens on that host and port"
    return None

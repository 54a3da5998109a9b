"""Reading query parameters and request bodies the way the service does: strictly.

A value outside its documented range, a non-numeric number or an unknown enum member is a
``BadRequest`` (the app answers 400 ``FDI.3002``), never a silent default, so a client that sends
something the real service would refuse fails here first. Where the official SDK documents that
the service *clamps* instead (a task ``limit`` above 999 "returns 999", an ``offset`` below 0 "is
read as 0", a monitor ``offset`` of 0 "is treated as 1"), ``clamped_int_param`` does that. These
are pure functions; the routes only translate ``BadRequest`` into a response.

Paging has an open question (``roma-api.md`` §2): does ``offset`` count records or pages?
``page_bounds`` implements both readings, chosen by the sandbox option ``offset_mode``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Literal, overload

__all__ = [
    "MAX_DATE_FROM",
    "BadRequest",
    "OffsetMode",
    "clamped_int_param",
    "enum_param",
    "int_param",
    "page_bounds",
    "parse_reset_body",
]

OffsetMode = Literal["records", "pages"]

MAX_DATE_FROM = 2**63 - 1

_INT = re.compile(r"-?[0-9]{1,20}")


class BadRequest(ValueError):
    """A request the service would refuse with 400 ``FDI.3002``; the message names the problem."""


@overload
def int_param(
    query: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int | None = None
) -> int: ...


@overload
def int_param(
    query: Mapping[str, str],
    name: str,
    *,
    default: None,
    minimum: int,
    maximum: int | None = None,
) -> int | None: ...


def int_param(
    query: Mapping[str, str],
    name: str,
    *,
    default: int | None,
    minimum: int,
    maximum: int | None = None,
) -> int | None:
    """Query parameter ``name`` as an int: ``default`` when absent, ``BadRequest`` when invalid."""
    raw = query.get(name)
    if raw is None:
        return default
    if not _INT.fullmatch(raw):
        raise BadRequest(f"Invalid parameter {name}: {raw[:40]!r} is not an integer.")
    value = int(raw)
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise BadRequest(f"Invalid parameter {name}: {value} must be at least {minimum}{upper}.")
    return value


def clamped_int_param(
    query: Mapping[str, str], name: str, *, default: int, low: int, high: int | None = None
) -> int:
    """Query parameter ``name`` as an int moved into ``low..high`` (``BadRequest`` if not one)."""
    value = int_param(query, name, default=default, minimum=-(2**63))
    value = max(low, value)
    return value if high is None else min(high, value)


def enum_param(
    query: Mapping[str, str],
    name: str,
    allowed: tuple[str, ...],
    *,
    ignore_case: bool = False,
) -> str | None:
    """The query parameter ``name`` if it is one of ``allowed`` (returned in its canonical case)."""
    raw = query.get(name)
    if raw is None:
        return None
    for value in allowed:
        if raw == value or (ignore_case and raw.upper() == value.upper()):
            return value
    raise BadRequest(f"Invalid parameter {name}: {raw[:40]!r} is not one of {', '.join(allowed)}.")


def page_bounds(
    offset: int, limit: int, *, first: Literal[0, 1], mode: OffsetMode
) -> tuple[int, int]:
    """The ``[start, stop)`` record slice for ``offset``/``limit``.

    ``first`` is the lowest allowed offset (0 for tasks, 1 for monitors and logs). In ``records``
    mode the offset counts records from ``first``; in ``pages`` mode it counts pages of ``limit``.
    """
    index = offset - first
    start = index * limit if mode == "pages" else index
    return start, start + limit


def parse_reset_body(body: bytes) -> int | None:
    """The ``date_from`` of a reset body; ``None`` when the body is empty, ``{}`` or null.

    Anything else than a JSON object whose ``date_from`` is absent, null or an integer in
    1..2**63-1 is a ``BadRequest``: floats, strings, booleans and numbers that look like seconds
    are all integers the service cannot take or should not guess about (only range is checked
    here; seconds are a client-side concern).
    """
    if not body.strip():
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise BadRequest("Invalid parameters: the request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("Invalid parameters: the request body must be a JSON object.")
    value = data.get("date_from")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(
            f"Invalid parameter date_from: {json.dumps(value)[:40]} is not an integer "
            "(epoch milliseconds)."
        )
    if not 1 <= value <= MAX_DATE_FROM:
        raise BadRequest(f"Invalid parameter date_from: {value} is outside 1..{MAX_DATE_FROM}.")
    return value

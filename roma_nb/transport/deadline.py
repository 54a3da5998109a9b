"""A call's deadline, as the request carries it and as httpx's timeouts are cut to it."""

from __future__ import annotations

import time

import httpx

__all__ = ["DEADLINE", "cut_timeout"]

DEADLINE = "roma_nb.deadline"
"""The request extension holding the call's deadline (``time.monotonic()`` seconds, or None):
what the bounded transports (``sockets``) cut every socket operation to, and what an auth flow
reads to bound a login it makes inside the call."""


def cut_timeout(timeout: httpx.Timeout, deadline: float | None) -> httpx.Timeout | None:
    """``timeout`` with every phase cut to the time left before ``deadline``; None when no
    phase needs cutting (the client's own timeout then applies, and no object is built)."""
    if deadline is None:
        return None
    left = max(deadline - time.monotonic(), 0.001)
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    if all(value is not None and value <= left for value in phases):
        return None

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cut(timeout.connect),
        read=cut(timeout.read),
        write=cut(timeout.write),
        pool=cut(timeout.pool),
    )

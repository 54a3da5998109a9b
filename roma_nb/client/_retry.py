"""When to send a request again, and how long to wait first.

The rule (DESIGN.md, Retries) is to retry only what provably did not reach the service or what the
service explicitly asked us to repeat later: connection failures before the request was sent, 429
and 503. A read timeout or a dropped connection after sending is *not* retried: for a reset the
outcome is unknown and the caller decides. Other errors (4xx, 500, 502, 504) are final.

A small pure policy is simpler here than a retry library: the decision depends on *where* the
failure happened (before or after sending) and on the server's ``Retry-After``, and the same
decision drives a sync loop, an async loop and the batch's shared throttle.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RETRYABLE_STATUS", "RetryPolicy"]

RETRYABLE_STATUS = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Jittered exponential backoff with a cap, honouring ``Retry-After``.

    ``max_attempts`` counts every send, the first included; ``max_attempts=1`` disables retries.
    ``max_retry_after`` bounds how long a server may make us wait for one retry: beyond it the
    error is returned to the caller rather than blocking a notebook for minutes.
    """

    max_attempts: int = 4
    backoff_base: float = 0.25
    backoff_cap: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("backoff times must not be negative")

    def should_retry_status(self, status_code: int, attempt: int) -> bool:
        """May a response with ``status_code`` on send number ``attempt`` be sent again?"""
        return status_code in RETRYABLE_STATUS and attempt < self.max_attempts

    def should_retry_connect(self, attempt: int) -> bool:
        """A failure before the request left the machine: always safe to send again."""
        return attempt < self.max_attempts

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before send number ``attempt + 1``, or None to give up.

        Full jitter (a uniform draw up to the exponential bound) spreads the retries of a batch's
        workers so they do not return to the gateway together; a server's ``Retry-After`` is a
        floor, because sending earlier would only be throttled again.
        """
        bound = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        wait = random.uniform(0, bound)
        if retry_after is not None:
            if retry_after > self.max_retry_after:
                return None
            wait = max(wait, retry_after) + random.uniform(0, min(1.0, bound))
        return wait

"""The batch-wide brake: how fast a batch may send while the gateway throttles it.

A batch must slow down *as a whole* when the gateway throttles (429 / APIGW.0308, 503): if each
worker backed off on its own, the others would keep hammering. ``Throttle`` is that shared brake:
a pause that every worker honours before its next send, and an adaptive concurrency limit that
halves on throttling and grows back slowly on success (AIMD, as TCP does).
"""

from __future__ import annotations

import threading
import time
from collections import deque

__all__ = ["Throttle"]


class Throttle:
    """A batch-wide brake shared by all workers; thread-safe, used by sync and async batches.

    ``try_start()`` either admits a send (returns None) or says how long to wait before asking
    again; ``finish(throttled=..., retry_after=...)`` reports how it went. Waiting is left to the
    send engine, which yields ``Sleep`` (``_engine``), so one implementation serves both clients.

    On a 429/503 three things happen: every worker pauses for the ``Retry-After`` (or the
    backoff); the concurrency limit halves; and, when the last second shows what the gateway
    accepted, sends are paced at 80 % of that rate, and at most half an earlier pace that was
    still refused. Refusals of sends that were already in flight when the pause began belong to
    the same episode and count once. Without pacing, a rate-limited gateway would refuse the first
    sends after every pause and the batch would spend its time waiting out ``Retry-After``
    (whole seconds). Successes raise the limit again one worker at a time, and
    each second without refusal raises the pace by 10 %, until it no longer binds.
    """

    _GROW_AFTER = 8  # successes in a row before one more worker is allowed
    _WINDOW = 1.0  # seconds of accepted sends that estimate what the gateway allows
    _MIN_SPAN = 0.1  # a burst inside this span is not read as an instant's rate
    _UNPACED = 1000.0  # a pace above this many sends per second is no pace at all
    _GROWTH = 1.1  # the pace's rise per refusal-free second: gentle, since a refusal costs a pause

    def __init__(self, max_concurrency: int) -> None:
        if max_concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.max_concurrency = max_concurrency
        self.limit = max_concurrency
        self.active = 0
        self.throttled = 0
        self.rate: float | None = None  # sends per second, once throttled
        self._paused_until = 0.0
        self._paused_total = 0.0  # seconds of pauses ordered, the current one included
        self._next_send = 0.0
        self._paced_since = 0.0
        self._successes = 0
        self._accepted: deque[float] = deque()
        self._lock = threading.Lock()

    def try_start(self) -> float | None:
        """Admit a send (None), or say how many seconds to wait before asking again."""
        with self._lock:
            now = time.monotonic()
            wait = max(self._paused_until, self._next_send) - now
            if wait > 0:
                return wait
            if self.active >= self.limit:
                return 0.005
            self.active += 1
            if self.rate is not None:
                self._next_send = now + 1.0 / self.rate
            return None

    def pauses(self) -> tuple[float, float]:
        """Seconds the batch has spent paused so far, and seconds of the current pause to come
        (what an estimate of the time left needs: past pauses are not the pace)."""
        with self._lock:
            left = max(self._paused_until - time.monotonic(), 0.0)
            return self._paused_total - left, left

    def _slow_down(self, now: float) -> None:
        """Halve the workers; pace below what the gateway accepted and below the last pace."""
        self.limit = max(1, self.limit // 2)
        if self._accepted:
            span = max(now - self._accepted[0], self._MIN_SPAN)
            slower = 0.8 * len(self._accepted) / span
            if self.rate is not None:
                slower = min(slower, 0.5 * self.rate)
            self.rate = max(1.0, slower)
            self._paced_since = now

    def finish(
        self, *, throttled: bool = False, retry_after: float | None = None, backoff: float = 0.0
    ) -> None:
        with self._lock:
            now = time.monotonic()
            self.active = max(0, self.active - 1)
            while self._accepted and self._accepted[0] < now - self._WINDOW:
                self._accepted.popleft()
            if throttled:
                self.throttled += 1
                self._successes = 0
                if now >= self._paused_until:  # a new episode, not another refusal of this one
                    self._slow_down(now)
                pause = max(retry_after or 0.0, backoff)
                until = max(self._paused_until, now + pause)
                self._paused_total += until - max(self._paused_until, now)
                self._paused_until = until
            else:
                self._accepted.append(now)
                self._successes += 1
                if self._successes >= self._GROW_AFTER and self.limit < self.max_concurrency:
                    self.limit += 1
                    self._successes = 0
                if self.rate is not None and now - self._paced_since >= self._WINDOW:
                    self.rate *= self._GROWTH
                    self._paced_since = now
                    if self.rate > self._UNPACED:
                        self.rate = None

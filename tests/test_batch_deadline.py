"""A batch has an overall budget (issue 17, item 4): at its deadline the rest is ``skipped``.

Before: under constant throttling a batch of 20 took 86 s and one of 50 took 230 s, with Stop the
only way out. The bounds here are the test's own clock with a wide margin, never tight timings.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from typing import Any

import pytest

from roma_nb.auth import TokenAuth
from roma_nb.client import AsyncRomaClient, BatchOutlook, BatchWatch, RetryPolicy, RomaClient
from roma_nb.errors import ValidationError
from roma_nb.history import ResultLog
from roma_nb.models import ResetResult

Sandbox = Any
DATE_FROM = 1630052714000
MARGIN = 30.0  # seconds: far above the 2 s budgets below, far below the minutes before


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """Raw resets to tasks whether they run or not: a sandbox that allows it."""
    return lenient_sandbox


def client_for(sandbox: Sandbox) -> RomaClient:
    policy = RetryPolicy(max_attempts=8)
    return RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth("t"), retry=policy)


def targets(client: RomaClient, count: int) -> list[tuple[str, str]]:
    instance = client.list_instances()[0].id
    return [(instance, t.task_id) for t in client.list_tasks(instance)[:count]]


def check(results: list[ResetResult], sandbox: Sandbox, count: int) -> None:
    """Some sent, the rest skipped for the deadline; every reset the server took is a success.

    A reset the gateway refused (429) whose retry could only start after the deadline is not
    sent again: it stays ``failed`` with the 429, saying why.
    """
    assert len(results) == count
    outcomes = [r.outcome for r in results]
    assert set(outcomes) <= {"success", "skipped", "failed"}, outcomes
    assert "skipped" in outcomes
    skipped = [r for r in results if r.outcome == "skipped"]
    assert all("deadline of 2 s had passed" in (r.message or "") for r in skipped)
    assert all(r.attempts == 0 for r in skipped)
    for refused in (r for r in results if r.outcome == "failed"):
        assert refused.status_code == 429, refused
        assert "Not sent again: the batch's deadline of 2 s" in (refused.message or ""), refused
    assert len(sandbox.resets) == outcomes.count("success")


def test_a_throttled_batch_stops_at_its_deadline(roma_sandbox: Sandbox, tmp_path: Any) -> None:
    log = ResultLog(tmp_path / "history.sqlite")
    with client_for(roma_sandbox) as client:
        batch = targets(client, 20)
        roma_sandbox.set_rate_limit(2, burst=1)
        started = time.monotonic()
        results = client.reset_many(batch, DATE_FROM, concurrency=4, log=log, deadline=2)
        assert time.monotonic() - started < MARGIN
    check(results, roma_sandbox, 20)
    frame = log.to_frame()
    assert len(frame) == 20  # one row per target, in the order they were written
    assert Counter(frame["outcome"]) == Counter(r.outcome for r in results)


def test_the_async_batch_keeps_the_same_deadline(roma_sandbox: Sandbox) -> None:
    async def run() -> list[ResetResult]:
        with client_for(roma_sandbox) as sync:
            batch = targets(sync, 20)
        roma_sandbox.set_rate_limit(2, burst=1)
        auth = TokenAuth("t")
        async with AsyncRomaClient(
            roma_sandbox.url,
            project_id=roma_sandbox.project_id,
            auth=auth,
            retry=RetryPolicy(max_attempts=8),
        ) as client:
            return await client.reset_many(batch, DATE_FROM, concurrency=4, deadline=2)

    started = time.monotonic()
    results = asyncio.run(run())
    assert time.monotonic() - started < MARGIN
    check(results, roma_sandbox, 20)


def test_a_nonsense_deadline_is_refused_before_anything(roma_sandbox: Sandbox) -> None:
    with client_for(roma_sandbox) as client, pytest.raises(ValidationError, match="deadline"):
        client.reset_many([("i", "t")], DATE_FROM, deadline=0)
    assert roma_sandbox.resets == []


# -- retries in flight do not outrun the deadline -------------------------------------------


def test_a_throttled_retry_is_not_sent_after_the_deadline(roma_sandbox: Sandbox) -> None:
    """Every reset answered 429 with a ``Retry-After`` of 40 s, the batch's deadline 2 s.

    Before: the four resets in flight waited out the 40 s and were sent again (wall time
    ≥ 40 s for a 2 s budget). After: a retry that would start after the deadline is not sent
    again, so the batch ends at its deadline.
    """
    roma_sandbox.inject("throttle", times=None, match="/reset", retry_after=40)
    with client_for(roma_sandbox) as client:
        batch = targets(client, 8)
        started = time.monotonic()
        results = client.reset_many(batch, DATE_FROM, concurrency=4, deadline=2)
        wall = time.monotonic() - started
    assert wall < MARGIN, wall
    throttled = [r for r in results if r.outcome == "failed"]
    skipped = [r for r in results if r.outcome == "skipped"]
    assert len(throttled) + len(skipped) == 8
    assert throttled, "the first sends were answered 429"
    for result in throttled:
        assert (result.status_code, result.attempts) == (429, 1)
        assert "Not sent again: the batch's deadline of 2 s" in (result.message or "")
    assert all("deadline of 2 s had passed" in (r.message or "") for r in skipped)
    sent = [c for c in roma_sandbox.calls if c.path.endswith("/reset")]
    assert len(sent) == len(throttled)  # nothing was sent twice


def test_a_reset_in_flight_at_the_deadline_keeps_its_outcome(roma_sandbox: Sandbox) -> None:
    """The deadline stops sending, not listening: a reset sent before it ends as it ends."""
    with client_for(roma_sandbox) as client:
        batch = targets(client, 3)
        slow = batch[0][1]
        roma_sandbox.inject("slow", match=slow, delay_s=3)
        results = client.reset_many(batch, DATE_FROM, concurrency=3, deadline=1)
    assert [r.outcome for r in results] == ["success"] * 3
    assert [r.task_id for r in roma_sandbox.resets].count(slow) == 1


def test_a_watch_tells_the_time_left_while_throttled(roma_sandbox: Sandbox) -> None:
    """What the CLI and the panel show: throttled, how long is left, and the deadline.

    Read from another thread while the batch runs, as the panel's in-flight line does (the
    first result may arrive before the 429 or, on a loaded machine, only after the pause).
    """
    watch = BatchWatch()
    assert watch.outlook() is None
    samples: list[BatchOutlook] = []
    running = threading.Event()

    def sample() -> None:
        while running.is_set():
            outlook = watch.outlook()
            if outlook is not None:
                samples.append(outlook)
            time.sleep(0.02)

    with client_for(roma_sandbox) as client:
        batch = targets(client, 3)
        roma_sandbox.inject("throttle", match=batch[0][1], retry_after=3)
        running.set()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            results = client.reset_many(
                batch, DATE_FROM, concurrency=2, progress=watch, deadline=60
            )
        finally:
            running.clear()
            sampler.join(10)
    assert [r.outcome for r in results] == ["success"] * 3
    paused = [o for o in samples if o.throttled and o.done < 3]
    assert paused, samples  # the 3 s pause was seen
    assert any(o.time_left is not None and o.time_left >= 1 for o in paused), paused
    assert all(o.total == 3 and o.deadline_left is not None for o in paused)
    assert not any(o.ends_at_deadline for o in paused)
    last = watch.outlook()
    assert last is not None and (last.done, last.time_left) == (3, 0.0)

"""reset_many's promises, proven against the sandbox (behaviour, not timings)."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from typing import Any

import pytest

from roma_nb.auth import TokenAuth
from roma_nb.client import AsyncRomaClient, RetryPolicy, RomaClient
from roma_nb.client._throttle import Throttle
from roma_nb.models import ResetResult

Sandbox = Any
DATE_FROM = 1630052714000


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """These tests send raw resets to tasks whether they run or not: a sandbox that allows it
    (``refuse_running=False``; the default refuses them, and a rewind stops them first)."""
    return lenient_sandbox


def client_for(sandbox: Sandbox, **options: Any) -> RomaClient:
    return RomaClient(sandbox.url, project_id=sandbox.project_id, auth=TokenAuth("t"), **options)


def targets(client: RomaClient, count: int) -> list[tuple[str, str]]:
    instance = client.list_instances()[0].id
    tasks = client.list_tasks(instance)
    assert len(tasks) >= count
    return [(instance, t.task_id) for t in tasks[:count]]


def posts(sandbox: Sandbox) -> list[Any]:
    return [c for c in sandbox.calls if c.method == "POST"]


def test_each_target_is_sent_exactly_once_under_concurrency(roma_sandbox: Sandbox) -> None:
    with client_for(roma_sandbox) as client:
        batch = targets(client, 60)
        results = client.reset_many(batch, DATE_FROM, concurrency=16)
    assert [(r.instance_id, r.task_id) for r in results] == batch
    assert all(r.outcome == "success" and r.attempts == 1 for r in results)
    sent = Counter(c.path.split("/")[-2] for c in posts(roma_sandbox))
    assert sent == Counter(task for _, task in batch)
    assert all(r.date_from == DATE_FROM for r in roma_sandbox.resets)


def test_throttling_is_retried_after_the_servers_pause(roma_sandbox: Sandbox) -> None:
    roma_sandbox.inject("throttle", times=4, retry_after=1, method="POST")
    with client_for(roma_sandbox) as client:
        batch = targets(client, 12)
        results = client.reset_many(batch, DATE_FROM, concurrency=4)
    assert all(r.outcome == "success" for r in results)
    assert sum(r.attempts for r in results) == 12 + 4
    calls = posts(roma_sandbox)
    throttled = [c for c in calls if c.status == 429]
    assert len(throttled) == 4
    assert len(roma_sandbox.resets) == 12
    for refusal in throttled:
        task = refusal.path.split("/")[-2]
        retry = next(c for c in calls if c.path == refusal.path and c.started > refusal.started)
        assert retry.started - refusal.finished >= 0.95, task


def test_a_throttled_batch_slows_down_as_a_whole(roma_sandbox: Sandbox) -> None:
    """After a 429 the pause applies to every worker, so no one hammers during it.

    Sends already admitted when the 429 was answered may still arrive after it (up to
    ``concurrency - 1`` of them; on a loaded machine a thread admitted before the 429 may be
    scheduled a few hundred milliseconds late, so no window narrower than the pause is
    asserted); no other send starts until the end of the ``Retry-After``. Without the
    batch-wide pause the seven other workers would go on through the remaining tasks.
    """
    roma_sandbox.inject("throttle", times=1, retry_after=1, method="POST")
    with client_for(roma_sandbox) as client:
        batch = targets(client, 16)
        results = client.reset_many(batch, DATE_FROM, concurrency=8)
    assert all(r.outcome == "success" for r in results)
    calls = posts(roma_sandbox)
    [refusal] = [c for c in calls if c.status == 429]
    during_pause = [c for c in calls if refusal.finished < c.started < refusal.finished + 0.95]
    assert len(during_pause) <= 7


def test_a_rate_limited_gateway_still_gets_every_reset(roma_sandbox: Sandbox) -> None:
    roma_sandbox.set_rate_limit(40, burst=4)
    with client_for(roma_sandbox, retry=RetryPolicy(max_attempts=8)) as client:
        batch = targets(client, 40)
        results = client.reset_many(batch, DATE_FROM, concurrency=16)
    assert [r.outcome for r in results] == ["success"] * 40
    assert len(roma_sandbox.resets) == 40
    refused = [c for c in posts(roma_sandbox) if c.status == 429]
    assert sum(r.attempts for r in results) == 40 + len(refused)


def test_an_exhausted_retry_budget_is_a_failure_with_truthful_attempts(
    roma_sandbox: Sandbox,
) -> None:
    with client_for(roma_sandbox, retry=RetryPolicy(max_attempts=3, backoff_base=0.01)) as client:
        batch = targets(client, 1)
        roma_sandbox.inject("unavailable", times=None, retry_after=0, method="POST")
        [result] = client.reset_many(batch, DATE_FROM)
    assert (result.outcome, result.status_code, result.attempts) == ("failed", 503, 3)
    assert len(posts(roma_sandbox)) == 3
    assert roma_sandbox.resets == []


def test_stop_before_anything_is_sent_skips_everything(roma_sandbox: Sandbox) -> None:
    stop = threading.Event()
    stop.set()
    with client_for(roma_sandbox) as client:
        batch = targets(client, 5)
        results = client.reset_many(batch, DATE_FROM, stop=stop)
    assert [r.outcome for r in results] == ["skipped"] * 5
    assert posts(roma_sandbox) == []


def test_a_failing_progress_callback_costs_no_result(roma_sandbox: Sandbox) -> None:
    def broken(done: int, total: int, result: ResetResult) -> None:
        raise RuntimeError("callback bug")

    with client_for(roma_sandbox) as client:
        results = client.reset_many(targets(client, 3), DATE_FROM, progress=broken)
    assert [r.outcome for r in results] == ["success"] * 3


def test_async_batch_leaves_the_event_loop_free(roma_sandbox: Sandbox) -> None:
    """As in a Jupyter cell: other coroutines keep running while the batch waits on I/O."""
    roma_sandbox.set_latency(50)

    async def scenario() -> tuple[list[ResetResult], int]:
        ticks = 0
        finished = asyncio.Event()

        async def heartbeat() -> None:
            nonlocal ticks
            while not finished.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        beat = asyncio.ensure_future(heartbeat())
        async with AsyncRomaClient(
            roma_sandbox.url, project_id=roma_sandbox.project_id, auth=TokenAuth("t")
        ) as client:
            instance = (await client.list_instances())[0].id
            tasks = (await client.list_tasks(instance))[:12]
            ticks = 0
            results = await client.reset_many(tasks, DATE_FROM, concurrency=3)
        finished.set()
        await beat
        return results, ticks

    results, ticks = asyncio.run(scenario())
    assert [r.outcome for r in results] == ["success"] * 12
    assert ticks >= 5  # 4 rounds of 50 ms: the loop was free to tick meanwhile


def test_async_stop_skips_the_rest(roma_sandbox: Sandbox) -> None:
    async def scenario() -> list[ResetResult]:
        stop = threading.Event()

        def stop_after_first(done: int, total: int, result: ResetResult) -> None:
            stop.set()

        async with AsyncRomaClient(
            roma_sandbox.url, project_id=roma_sandbox.project_id, auth=TokenAuth("t")
        ) as client:
            instance = (await client.list_instances())[0].id
            tasks = (await client.list_tasks(instance))[:6]
            return await client.reset_many(
                tasks, DATE_FROM, concurrency=1, stop=stop, progress=stop_after_first
            )

    outcomes = [r.outcome for r in asyncio.run(scenario())]
    assert outcomes[0] == "success"
    assert outcomes.count("skipped") >= 4
    assert len(roma_sandbox.resets) == outcomes.count("success")


def test_throttle_halves_on_refusal_and_grows_back() -> None:
    throttle = Throttle(8)
    assert throttle.try_start() is None
    throttle.finish(throttled=True, retry_after=0.0)
    assert throttle.limit == 4
    for _ in range(8 * 4):
        assert throttle.try_start() is None
        throttle.finish()
    assert throttle.limit == 8


def test_throttle_refuses_a_nonsense_concurrency() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Throttle(0)


def test_refusals_of_one_episode_slow_the_batch_down_once() -> None:
    """Sends in flight when the first 429 arrives are refused too: that is still one episode."""
    throttle = Throttle(8)
    for _ in range(4):
        assert throttle.try_start() is None
    for _ in range(4):
        throttle.finish(throttled=True, retry_after=5.0)
    assert throttle.throttled == 4
    assert throttle.limit == 4
    wait = throttle.try_start()
    assert wait is not None and wait > 4.0


def test_rows_say_where_the_requests_went(roma_sandbox: Sandbox) -> None:
    from roma_nb.history import RecordContext, ResultLog

    plain = ResultLog()
    with client_for(roma_sandbox) as client:
        batch = targets(client, 2)
        client.reset_many(batch, DATE_FROM, log=plain)
        client.reset_many(batch[:1], DATE_FROM, log=plain, dry_run=True)
    frame = plain.to_frame()
    assert set(frame["project_id"]) == {roma_sandbox.project_id}
    assert set(frame["endpoint"]) == {roma_sandbox.url.removeprefix("http://")}
    assert plain.context.project_id is None  # the log itself is unchanged

    given = ResultLog(context=RecordContext(project_id="p-given", endpoint_label="SANDBOX"))
    with client_for(roma_sandbox) as client:
        client.reset_many(targets(client, 1), DATE_FROM, log=given)
    assert list(given.to_frame()["project_id"]) == ["p-given"]


def test_async_batch_over_an_in_process_transport_records_every_attempt() -> None:
    """A transport of the caller's own (here the sandbox's ASGI app, which needs the event loop)
    carries the batch itself; the history still gets a pending row and its completion each."""
    import httpx

    from roma_nb.history import ResultLog
    from roma_nb.sandbox import SandboxState, create_app

    state = SandboxState(tasks_per_instance=20, refuse_running=False)  # raw resets of any task
    instance = state.instances[0].id
    batch = [(instance, t.task_id) for t in state.combined_tasks(instance)]
    assert len(batch) >= 4
    log = ResultLog()

    async def scenario() -> list[ResetResult]:
        async with AsyncRomaClient(
            "http://roma.in-process.test",
            project_id=state.project_id,
            auth=TokenAuth(state.token),
            transport=httpx.ASGITransport(app=create_app(state)),
        ) as client:
            return await client.reset_many(batch, DATE_FROM, concurrency=3, log=log)

    results = asyncio.run(scenario())
    assert [(r.instance_id, r.task_id, r.outcome) for r in results] == [
        (i, t, "success") for i, t in batch
    ]
    assert sorted(r.task_id for r in state.resets) == sorted(t for _, t in batch)
    frame = log.to_frame()
    assert list(frame["outcome"]) == ["success"] * len(batch)
    assert set(frame["endpoint"]) == {"roma.in-process.test"}

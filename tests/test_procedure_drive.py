"""The machine's protocol with its drivers: effects in, results back, blocking and asyncio."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import pytest
from procedure_world import DATE_FROM, MemoryRecorder, World, make_world

from roma_nb.errors import ValidationError
from roma_nb.models import MonitorLog, ResetResult, RewindStep, StepResult, Task, TaskMonitor
from roma_nb.procedure import (
    SENDING_EFFECTS,
    BatchCall,
    Effect,
    ListTasks,
    Record,
    ResetProgress,
    ResetTasks,
    RewindOptions,
    SendBatch,
    Sleep,
    StopSignal,
    SyncHandler,
    TaskRef,
    drive,
    rewind_procedure,
    run_rewind,
    run_rewind_async,
)

FAST = RewindOptions(stop_timeout=5, start_timeout=5, verify_timeout=10)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def epoch_ms(self) -> int:
        return 1_714_528_800_000 + round(self.now * 1000)


def test_one_task_step_by_step_with_a_scripted_service() -> None:
    clock = Clock()
    procedure = rewind_procedure(
        [TaskRef("i", "t")], DATE_FROM, RewindOptions(verify=False), clock=clock, rewind_id="r"
    )
    task = Task("t", "T", instance_id="i", status=1, ext_type="CDC")
    seen: list[str] = []

    def answer(effect: Effect) -> Any:
        seen.append(type(effect).__name__ + getattr(effect, "action", ""))
        if isinstance(effect, ListTasks):
            task.status = 1 if seen.count("ListTasks") == 1 else {"stop": 0, "start": 1}[last]
            return {"i": [task]}
        if isinstance(effect, Record):
            return list(range(len(effect.writes)))
        if isinstance(effect, SendBatch):
            (call,) = effect.calls
            return [[StepResult(call.action, "i", "t", "success", request_id="q")]]
        if isinstance(effect, ResetTasks):
            assert effect.targets == (TaskRef("i", "t", "T"),)
            return [ResetResult("i", "t", "success", date_from=effect.date_from, status_code=200)]
        assert isinstance(effect, Sleep)
        clock.now += effect.seconds
        return None

    last = "stop"
    effect = next(procedure)
    while True:
        if isinstance(effect, SendBatch):
            last = effect.action
        try:
            effect = procedure.send(answer(effect))
        except StopIteration as done:
            (result,) = done.value
            break
    assert seen == [
        "ListTasks",
        "Record",  # look row
        "Record",  # stop row, pending
        "SendBatchstop",
        "Sleep",
        "ListTasks",  # stopped?
        "Record",  # stop row completed
        "Record",  # reset row, pending
        "ResetTasks",
        "Record",  # reset row completed
        "Record",  # start row, pending
        "SendBatchstart",
        "Sleep",
        "ListTasks",  # running?
        "Record",  # start row completed
    ]
    assert (result.outcome, result.task_name, result.rewind_id) == ("success", "T", "r")
    assert result.stop is not None and result.stop.request_id == "q"


def test_a_bad_date_from_is_refused_before_any_effect() -> None:
    with pytest.raises(ValidationError):
        rewind_procedure([TaskRef("i", "t")], 1_714_528_800)  # seconds, not milliseconds


def test_fifty_tasks_share_one_round_of_each_call() -> None:
    world, refs = make_world([(True, [])] * 50)
    effects: list[Effect] = []
    handler = SyncHandler(world, sleep=world.sleep)

    def spy(effect: Effect) -> Any:
        effects.append(effect)
        return handler(effect)

    procedure = rewind_procedure(refs, DATE_FROM, RewindOptions(verify=False), clock=world.clock)
    results = drive(procedure, spy)
    assert {r.outcome for r in results} == {"success"}
    rounds = [e for e in effects if isinstance(e, SendBatch)]
    assert [(r.action, [len(c.task_ids) for c in r.calls]) for r in rounds] == [
        ("stop", [10] * 5),
        ("start", [10] * 5),
    ]
    assert sum(isinstance(e, ResetTasks) for e in effects) == 1
    # the look, then a poll every 0.1 s (``poll_interval``: the spacing grows with the wait only
    # past 0.5 s) from the round's first call until the stop and start delays (0.5 s) pass
    assert sum(isinstance(e, ListTasks) for e in effects) == 1 + 6 + 6


def test_dry_run_yields_no_sending_effect() -> None:
    world, refs = make_world([(True, []), (False, [])])
    effects: list[Effect] = []
    handler = SyncHandler(world, sleep=world.sleep)
    procedure = rewind_procedure(refs, DATE_FROM, RewindOptions(dry_run=True), clock=world.clock)

    def spy(effect: Effect) -> Any:
        effects.append(effect)
        return handler(effect)

    drive(procedure, spy)
    assert not [e for e in effects if isinstance(e, SENDING_EFFECTS)]


def test_the_calls_of_one_round_go_out_concurrently() -> None:
    world, refs = make_world([(True, [])] * 40, instances=2)
    arrived = threading.Barrier(4, timeout=10)  # the four stop calls must be in flight at once
    real_stop = world.stop_tasks

    def stop_tasks(instance_id: str, task_ids: Sequence[str]) -> list[StepResult]:
        arrived.wait()
        return real_stop(instance_id, task_ids)

    world.stop_tasks = stop_tasks  # type: ignore[method-assign]
    results = run_rewind(
        world, refs, DATE_FROM, RewindOptions(verify=False), clock=world.clock, sleep=world.sleep
    )
    assert {r.outcome for r in results} == {"success"}


def test_progress_is_called_once_per_finished_step_and_its_errors_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world, refs = make_world([(True, [])])
    got: list[tuple[str, str]] = []

    def progress(row: RewindStep) -> None:
        got.append((row.step, row.outcome))
        if row.step == "stop":
            raise RuntimeError("widget gone")

    with caplog.at_level(logging.ERROR, logger="roma_nb.procedure"):
        (result,) = run_rewind(
            world, refs, DATE_FROM, FAST, progress=progress, clock=world.clock, sleep=world.sleep
        )
    assert result.outcome == "success"
    assert got == [(s, "success") for s in ("look", "stop", "reset", "start", "verify")]
    assert "progress callback failed at stop of task t0" in caplog.text


def test_an_unknown_effect_is_a_bug_of_the_caller() -> None:
    world, _ = make_world([])
    with pytest.raises(TypeError, match="unknown effect"):
        SyncHandler(world)(object())  # type: ignore[arg-type]


class AsyncWorld:
    """``World`` behind coroutines, as ``AsyncRomaClient`` would be."""

    def __init__(self, world: World) -> None:
        self.world = world

    async def list_tasks(self, instance_id: str, *, combined_only: bool = True) -> list[Task]:
        return self.world.list_tasks(instance_id, combined_only=combined_only)

    async def stop_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]:
        return self.world.stop_tasks(instance_id, task_ids)

    async def start_tasks(self, instance_id: str, task_ids: Sequence[str]) -> list[StepResult]:
        return self.world.start_tasks(instance_id, task_ids)

    async def reset_many(
        self,
        targets: Iterable[tuple[str, str]],
        date_from: object = None,
        *,
        concurrency: int = 8,
        stop: StopSignal | None = None,
        deadline: float | None = None,
        progress: ResetProgress | None = None,
    ) -> list[ResetResult]:
        return self.world.reset_many(
            targets, date_from, concurrency=concurrency, stop=stop, progress=progress
        )

    async def task_monitors(self, instance_id: str) -> list[TaskMonitor]:
        return self.world.task_monitors(instance_id)

    async def monitor_logs(
        self, instance_id: str, task_id: str, *, begin_time: object = None
    ) -> list[MonitorLog]:
        return self.world.monitor_logs(instance_id, task_id, begin_time=begin_time)


SCENARIO = [
    (True, []),
    (False, []),
    (True, ["stop_refused"]),
    (True, ["start_refused"]),
    (True, ["reset_unknown"]),
    (True, ["verify_103"]),
]


def test_the_asyncio_driver_reaches_the_same_results_as_the_blocking_one() -> None:
    world, refs = make_world(SCENARIO, instances=2)
    log = MemoryRecorder()
    blocking = run_rewind(
        world, refs, DATE_FROM, FAST, log=log, clock=world.clock, sleep=world.sleep, rewind_id="r"
    )
    world2, refs2 = make_world(SCENARIO, instances=2)
    log2 = MemoryRecorder()

    async def sleep(seconds: float) -> None:
        world2.sleep(seconds)

    asynchronous = asyncio.run(
        run_rewind_async(
            AsyncWorld(world2),
            refs2,
            DATE_FROM,
            FAST,
            log=log2,
            clock=world2.clock,
            sleep=sleep,
            rewind_id="r",
        )
    )
    assert [(r.outcome, r.message) for r in asynchronous] == [
        (r.outcome, r.message) for r in blocking
    ]
    assert [(r.step, r.outcome) for r in log2.rows] == [(r.step, r.outcome) for r in log.rows]
    assert [r.outcome for r in blocking] == [
        "success",
        "success",
        "failed",
        "left-stopped",
        "unknown",
        "failed",
    ]


def test_importing_the_blocking_side_does_not_import_asyncio() -> None:
    import subprocess
    import sys

    code = "import sys, roma_nb.procedure; print('asyncio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_batch_call_is_part_of_the_interface() -> None:
    assert BatchCall("i", "start", ("t",)).body == {
        "action_id": "start",
        "list": [{"task_id": "t"}],
    }

"""The fault matrix: every injectable fault × single and batch resets, sync and async.

For each row the sandbox (over its real socket) is told to misbehave for one task's reset, and
the test asserts, exactly: the outcome and error the caller sees, ``attempts``, the rows the
history holds (batch), the requests the sandbox saw for that task with their statuses, and the
resets that took effect — never more than one per task, whatever the policy retried.

Rows are expectations written from the retry rule (DESIGN.md, Retries; ``roma-api.md`` §3):
429 and 503 are sent again (their ``Retry-After`` is 0 here, so the suite stays fast); a read
timeout or a dropped connection after sending makes a reset ``unknown`` and is never repeated;
every other error is final. ``attempts`` is what ``ResetResult`` documents: the requests actually
sent, which is also what the sandbox counted.

Faults are queued with the Python interface (``Sandbox.inject``) and, for the single sync reset,
also through the HTTP control plane (``POST /_sandbox/faults``): both must give the same row.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from roma_nb.auth import PasswordAuth, TokenAuth
from roma_nb.client import AsyncRomaClient, RetryPolicy, RomaClient
from roma_nb.errors import (
    ApiError,
    AuthError,
    OutcomeUnknown,
    RomaError,
    ServerError,
    ThrottledError,
    TransportError,
)
from roma_nb.history import ResultLog
from roma_nb.models import Outcome, ResetResult
from roma_nb.sandbox import Sandbox

DATE_FROM = 1630052714000
FAST = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_cap=0.05)
"""The default policy's rule with millisecond backoff, so retried rows cost no time."""
READ_TIMEOUT = 1.0
"""The read timeout of the rows whose server answers too late (``slow``, latency): short, so
the suite stays fast, yet long enough that a loaded machine does not time out an answer that
is merely slow to compute (the late answers come after 5 s, or 1.5 s of latency)."""

Mode = Literal["single", "batch"]
Flavour = Literal["sync", "async"]


@pytest.fixture
def roma_sandbox(lenient_sandbox: Sandbox) -> Sandbox:
    """These tests send raw resets to tasks whether they run or not: a sandbox that allows it
    (``refuse_running=False``; the default refuses them, and a rewind stops them first)."""
    return lenient_sandbox


@dataclass(frozen=True)
class Row:
    """One line of the matrix: the fault, and what the caller and the server must see."""

    kind: str
    outcome: Outcome
    attempts: int
    statuses: tuple[int | None, ...]
    """Statuses of the reset requests the sandbox saw for the faulted task (None: no answer)."""
    effective: int
    """Resets of the faulted task that took effect on the server."""
    error: type[RomaError] | None = None
    error_code: str | None = None
    times: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)
    auth: Literal["token", "password"] = "token"
    read_timeout: float | None = None

    @property
    def status_code(self) -> int | None:
        """The status the caller saw last; none when no answer reached it."""
        return None if self.outcome == "unknown" else self.statuses[-1]


MATRIX: dict[str, Row] = {
    "throttle": Row("throttle", "success", 2, (429, 200), 1, params={"retry_after": 0}),
    "throttle, every time": Row(
        "throttle",
        "failed",
        4,
        (429,) * 4,
        0,
        ThrottledError,
        "APIGW.0308",
        times=None,
        params={"retry_after": 0},
    ),
    "throttle, Retry-After 120 s": Row(
        "throttle",
        "failed",
        1,
        (429,),
        0,
        ThrottledError,
        "APIGW.0308",
        params={"retry_after": 120},
    ),
    "unavailable": Row("unavailable", "success", 2, (503, 200), 1, params={"retry_after": 0}),
    "unavailable, every time": Row(
        "unavailable",
        "failed",
        4,
        (503,) * 4,
        0,
        ServerError,
        "APIGW.0201",
        times=None,
        params={"retry_after": 0},
    ),
    "server_error": Row("server_error", "failed", 1, (500,), 0, ServerError, "FDI.9999"),
    "bad_gateway_html": Row("bad_gateway_html", "failed", 1, (502,), 0, ServerError),
    "drop": Row("drop", "unknown", 1, (None,), 0, OutcomeUnknown),
    "drop, reset": Row("drop", "unknown", 1, (None,), 0, OutcomeUnknown, params={"rst": True}),
    "slow, takes effect": Row(
        "slow", "unknown", 1, (200,), 1, OutcomeUnknown, read_timeout=READ_TIMEOUT
    ),
    "slow, never answers": Row(
        "slow",
        "unknown",
        1,
        (504,),
        0,
        OutcomeUnknown,
        params={"effective": False},
        read_timeout=READ_TIMEOUT,
    ),
    "task_running": Row("task_running", "failed", 1, (400,), 0, ApiError, "FDI.3023"),
    "expired_token, token": Row("expired_token", "failed", 1, (401,), 0, AuthError, "APIGW.0307"),
    "expired_token, password": Row("expired_token", "success", 2, (401, 200), 1, auth="password"),
}


# -- set-up ------------------------------------------------------------------------------------


@dataclass
class Scene:
    """The sandbox, the faulted task and two bystanders, and where the history goes."""

    sandbox: Sandbox
    instance: str
    faulted: str
    others: list[str]
    history: Path

    def reset_posts(self, task_id: str) -> list[Any]:
        return [
            c
            for c in self.sandbox.calls
            if c.method == "POST" and c.path.endswith(f"/multi-tasks/{task_id}/reset")
        ]

    def effective(self, task_id: str) -> int:
        return sum(r.task_id == task_id for r in self.sandbox.resets)


@pytest.fixture
def scene(roma_sandbox: Sandbox, tmp_path: Path) -> Scene:
    instance = roma_sandbox.state.instances[0].id
    tasks = [t.task_id for t in roma_sandbox.state.combined_tasks(instance)[:3]]
    return Scene(roma_sandbox, instance, tasks[0], tasks[1:], tmp_path / "history.sqlite")


def make_auth(scene: Scene, kind: str) -> httpx.Auth:
    if kind == "token":
        return TokenAuth("t0ken")
    user = scene.sandbox.users[scene.sandbox.username]
    return PasswordAuth(
        user.name,
        user.password,
        user.domain,
        project_id=scene.sandbox.project_id,
        iam_endpoint=scene.sandbox.iam_url,
    )


def client_options(scene: Scene, row: Row) -> dict[str, Any]:
    timeout = httpx.Timeout(10, read=row.read_timeout or 60)
    return {
        "project_id": scene.sandbox.project_id,
        "auth": make_auth(scene, row.auth),
        "timeout": timeout,
        "retry": FAST,
    }


def inject(scene: Scene, row: Row, via: str) -> None:
    spec = {"times": row.times, "match": scene.faulted, "method": "POST", **row.params}
    if via == "python":
        scene.sandbox.inject(row.kind, **spec)
        return
    answer = httpx.post(f"{scene.sandbox.url}/_sandbox/faults", json={"kind": row.kind, **spec})
    assert answer.status_code == 201, answer.text
    assert answer.json()["kind"] == row.kind


# -- running a row -----------------------------------------------------------------------------


def run_single(scene: Scene, row: Row, flavour: Flavour) -> ResetResult | BaseException:
    """The result of ``reset_combined_task``, or the exception it raised."""
    options = client_options(scene, row)
    args = (scene.instance, scene.faulted, DATE_FROM)
    if flavour == "sync":
        with RomaClient(scene.sandbox.url, **options) as client:
            try:
                return client.reset_combined_task(*args)
            except Exception as error:
                return error

    async def reset() -> ResetResult | BaseException:
        async with AsyncRomaClient(scene.sandbox.url, **options) as client:
            try:
                return await client.reset_combined_task(*args)
            except Exception as error:
                return error

    return asyncio.run(reset())


def run_batch(scene: Scene, row: Row, flavour: Flavour, log: ResultLog) -> list[ResetResult]:
    options = client_options(scene, row)
    targets = [(scene.instance, task) for task in [scene.faulted, *scene.others]]
    if flavour == "sync":
        with RomaClient(scene.sandbox.url, **options) as client:
            return client.reset_many(targets, DATE_FROM, concurrency=3, log=log)

    async def batch() -> list[ResetResult]:
        async with AsyncRomaClient(scene.sandbox.url, **options) as client:
            return await client.reset_many(targets, DATE_FROM, concurrency=3, log=log)

    return asyncio.run(batch())


def check_server_side(scene: Scene, row: Row) -> None:
    assert tuple(c.status for c in scene.reset_posts(scene.faulted)) == row.statuses
    assert scene.effective(scene.faulted) == row.effective


def check_single(outcome: ResetResult | BaseException, row: Row) -> None:
    if row.error is None:
        assert isinstance(outcome, ResetResult), repr(outcome)
        assert (outcome.outcome, outcome.attempts, outcome.date_from) == (
            "success",
            row.attempts,
            DATE_FROM,
        )
        return
    assert type(outcome) is row.error, repr(outcome)
    assert getattr(outcome, "attempts", None) == row.attempts
    if isinstance(outcome, ApiError):
        assert (outcome.status_code, outcome.error_code) == (row.status_code, row.error_code)
        assert outcome.request_id, "every answer the sandbox gives carries a request id"


def check_batch(scene: Scene, row: Row, results: list[ResetResult], log: ResultLog) -> None:
    faulted, *others = results
    assert (faulted.task_id, faulted.outcome, faulted.attempts) == (
        scene.faulted,
        row.outcome,
        row.attempts,
    )
    assert (faulted.status_code, faulted.error_code) == (row.status_code, row.error_code)
    assert [(r.task_id, r.outcome, r.attempts) for r in others] == [
        (task, "success", 1) for task in scene.others
    ]
    rows = {r["task_id"]: r for r in log.records()}
    assert len(log) == 3, "one row per target: written pending, completed after"
    assert {t: (r["outcome"], r["attempts"]) for t, r in rows.items()} == {
        r.task_id: (r.outcome, r.attempts) for r in results
    }
    assert rows[scene.faulted]["error_code"] == row.error_code
    for task in scene.others:
        assert [c.status for c in scene.reset_posts(task)] == [200]
        assert scene.effective(task) == 1
    all_posts = [c for c in scene.sandbox.calls if c.method == "POST" and "/multi-tasks/" in c.path]
    assert sum(r.attempts for r in results) == len(all_posts)


# -- the matrix --------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("name", list(MATRIX))
def test_single_reset(scene: Scene, name: str, flavour: Flavour) -> None:
    row = MATRIX[name]
    inject(scene, row, "python")
    check_single(run_single(scene, row, flavour), row)
    check_server_side(scene, row)


@pytest.mark.parametrize("name", list(MATRIX))
def test_single_reset_with_the_fault_queued_over_http(scene: Scene, name: str) -> None:
    row = MATRIX[name]
    inject(scene, row, "http")
    check_single(run_single(scene, row, "sync"), row)
    check_server_side(scene, row)


@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("name", list(MATRIX))
def test_batch_reset(scene: Scene, name: str, flavour: Flavour) -> None:
    row = MATRIX[name]
    inject(scene, row, "python")
    with ResultLog(scene.history) as log:
        results = run_batch(scene, row, flavour, log)
        check_batch(scene, row, results, log)
    check_server_side(scene, row)
    if row.outcome != "success":
        assert results[0].message, "a failed or unknown result says what happened"


# -- beyond one queued fault -------------------------------------------------------------------


def wait_for_calls(sandbox: Sandbox, count: int) -> list[Any]:
    """The sandbox records a call when its answer is done; a late answer ends after the client
    gave up, so wait (without asserting on time) until it is recorded."""
    deadline = time.monotonic() + 30
    while len(sandbox.calls) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return sandbox.calls


def test_latency_beyond_the_read_timeout_makes_a_reset_unknown_though_it_happened(
    scene: Scene,
) -> None:
    scene.sandbox.set_latency(1500)
    row = Row("latency", "unknown", 1, (200,), 1, OutcomeUnknown, read_timeout=READ_TIMEOUT)
    check_single(run_single(scene, row, "sync"), row)
    [call] = wait_for_calls(scene.sandbox, 1)
    assert (call.method, call.status) == ("POST", 200)
    assert scene.effective(scene.faulted) == 1, "unknown was the truth: the reset did happen"


@pytest.mark.parametrize(
    ("kind", "params", "requests"),
    [
        ("drop", {}, 2),
        ("slow", {"delay_s": 5.0}, 2),
        ("throttle", {"retry_after": 0}, 2),
        ("unavailable", {"retry_after": 0}, 2),
        ("server_error", {}, 1),
        ("bad_gateway_html", {}, 1),
    ],
)
def test_reads_are_sent_again_after_any_transport_failure_but_not_after_an_error_answer(
    scene: Scene, kind: str, params: dict[str, Any], requests: int
) -> None:
    """A GET changes nothing, so a timeout or a dropped connection is safe to repeat."""
    scene.sandbox.inject(kind, method="GET", **params)
    row = Row(kind, "success", 1, (), 0, read_timeout=READ_TIMEOUT)
    with RomaClient(scene.sandbox.url, **client_options(scene, row)) as client:
        if requests == 1:
            with pytest.raises(ServerError):
                client.list_instances()
        else:
            assert client.list_instances()
    assert len(wait_for_calls(scene.sandbox, requests)) == requests


def test_a_rate_limited_gateway_gets_each_reset_once_with_truthful_attempts(
    scene: Scene,
) -> None:
    """The requests-per-second throttle: each target's ``attempts`` is exactly the number of
    requests the gateway saw for it, in the result and in its history row."""
    sandbox = scene.sandbox
    tasks = [t.task_id for t in sandbox.state.combined_tasks(scene.instance)[:12]]
    sandbox.set_rate_limit(20, burst=3)
    with (
        RomaClient(
            sandbox.url,
            project_id=sandbox.project_id,
            auth=TokenAuth("t0ken"),
            retry=RetryPolicy(max_attempts=10, backoff_base=0.01),
        ) as client,
        ResultLog(scene.history) as log,
    ):
        results = client.reset_many([(scene.instance, t) for t in tasks], DATE_FROM, log=log)
        rows = {r["task_id"]: r["attempts"] for r in log.records()}
    seen = Counter(c.path.split("/")[-2] for c in sandbox.calls if c.method == "POST")
    refused = [c for c in sandbox.calls if c.status == 429]
    assert refused, "the limit must have bitten for this test to mean anything"
    assert [r.outcome for r in results] == ["success"] * len(tasks)
    assert {r.task_id: r.attempts for r in results} == dict(seen) == rows
    assert Counter(r.task_id for r in sandbox.resets) == Counter(tasks)


@pytest.fixture
def refusing_port() -> Iterator[int]:
    """A port with a socket bound but not listening: every connection to it is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


class ConnectAttempts(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += record.getMessage().startswith("connect_tcp.started")


@pytest.fixture
def connects() -> Iterator[ConnectAttempts]:
    logger = logging.getLogger("httpcore.connection")
    handler, level = ConnectAttempts(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize("mode", ["single", "batch"])
def test_a_refused_connection_is_retried_within_the_budget_and_sends_nothing(
    refusing_port: int, connects: ConnectAttempts, tmp_path: Path, mode: Mode
) -> None:
    """The row the sandbox cannot inject: nothing listening. Safe to retry, so it is."""
    url = f"http://127.0.0.1:{refusing_port}"
    with RomaClient(url, project_id="p", auth=TokenAuth("t0ken"), retry=FAST) as client:
        if mode == "single":
            with pytest.raises(TransportError, match="Nothing was sent") as caught:
                client.reset_combined_task("inst", "task", DATE_FROM)
            attempts = getattr(caught.value, "attempts", None)
        else:
            with ResultLog(tmp_path / "history.sqlite") as log:
                [result] = client.reset_many([("inst", "task")], DATE_FROM, log=log)
                [row] = log.records()
            assert (result.outcome, result.status_code) == ("failed", None)
            assert (row["outcome"], row["attempts"]) == ("failed", result.attempts)
            attempts = result.attempts
    assert attempts == connects.count == FAST.max_attempts


def test_the_matrix_names_every_fault_kind() -> None:
    """A new kind in the sandbox must get its row here."""
    from roma_nb.sandbox import FAULT_KINDS

    assert {row.kind for row in MATRIX.values()} == set(FAULT_KINDS)

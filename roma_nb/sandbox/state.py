"""``SandboxState``: the sandbox's data, settings and records, shared by the app and the tests.

The ASGI app runs on uvicorn's thread while a test reads records and injects faults from its
own, so every mutable part is behind a lock and every read hands out a copy or a frozen value.
``reset()`` puts the state back to what its options describe (fresh data, no records, no faults,
no rejected tokens), which is what lets one server serve a whole test session.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .accounts import Accounts, IssuedToken, SandboxUser
from .data import InstanceRow, TaskRow, make_instances, make_project_id, make_tasks
from .faults import Fault, FaultPlan, RateLimiter, make_fault
from .incoming import Incoming
from .lifecycle import Clock, Lifecycle
from .params import OffsetMode
from .records import Call, Login, Recorder, ResetRecord

__all__ = ["OPTIONS_VARIABLE", "SandboxOptions", "SandboxState", "options_from_environment"]

OPTIONS_VARIABLE = "ROMA_NB_SANDBOX_OPTIONS"
"""A JSON object of ``SandboxOptions`` for the sandbox ``connect("sandbox")`` starts, e.g.
``{"stop_delay_ms": 1500, "start_delay_ms": 1500}`` (what ``roma-nb demo`` sets)."""


def _now_floor_minute_ms() -> int:
    return int(time.time() // 60) * 60_000


@dataclass(frozen=True, slots=True)
class SandboxOptions:
    """Everything that shapes a sandbox; ``SandboxState(**options)`` takes the same names.

    ``tasks_per_instance`` is one count for every instance or one count per instance, e.g.
    ``(10_000,)`` with ``instances=1``. ``now_ms`` is the time base of all generated times
    (default: the current time floored to the minute, fixed when the state is created).
    ``offset_mode`` decides whether task/monitor/log ``offset`` counts records or pages.
    ``honour_task_mode=False`` makes the tasks list ignore ``task_mode`` like an older server.

    The task lifecycle (``lifecycle``): ``refuse_running=True`` refuses a reset of a running task
    with 400 FDI.3023, as the real service is expected to (a lenient ``False`` keeps the reset
    for the next start). A start or stop becomes visible ``start_delay_ms`` / ``stop_delay_ms``
    after it was accepted (0: at once). The source keeps change logs ``log_retention_days``
    days: a start after a reset to an older ``date_from`` fails with reader code 103.

    ``latency_ms`` is added to every answer. ``rate_limit_rps`` / ``rate_limit_burst`` start
    the sandbox with a request-rate limit (429 APIGW.0308 beyond it).

    Credentials: ``region`` is the project *name* IAM logins may scope to (or they use the
    project id); tokens it issues live ``token_lifetime_s``; ``strict_tokens=True`` refuses
    tokens it did not issue (except ``SandboxState.token``); AK/SK requests must be signed
    within ``max_clock_skew_s`` of the server clock, and ``ak_lock_after`` bad signatures within
    ``ak_lock_s`` lock the AK for ``ak_lock_s`` (the gateway's 5 in 5 minutes). ``users``
    (name -> (password, domain)) and ``access_keys`` (AK -> SK) add to the seeded ones.
    """

    seed: int = 0
    project_id: str | None = None
    instances: int = 3
    tasks_per_instance: int | tuple[int, ...] = 250
    logs_per_task: int = 24
    log_days: int = 3
    now_ms: int | None = None
    offset_mode: OffsetMode = "records"
    honour_task_mode: bool = True
    refuse_running: bool = True
    start_delay_ms: float = 0.0
    stop_delay_ms: float = 0.0
    log_retention_days: float = 2.0
    latency_ms: float = 0.0
    rate_limit_rps: float | None = None
    rate_limit_burst: int | None = None
    region: str = "cn-north-4"
    token_lifetime_s: float = 86_400.0
    strict_tokens: bool = False
    max_clock_skew_s: float = 900.0
    ak_lock_after: int = 5
    ak_lock_s: float = 300.0
    users: Mapping[str, tuple[str, str]] | None = field(default=None, repr=False)
    access_keys: Mapping[str, str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.offset_mode not in ("records", "pages"):
            raise ValueError(f"offset_mode must be 'records' or 'pages', not {self.offset_mode!r}")
        if self.instances < 1:
            raise ValueError("instances must be at least 1")
        counts = self.task_counts()
        if any(c < 0 for c in counts):
            raise ValueError("tasks_per_instance must not be negative")
        if self.logs_per_task < 0 or self.log_days < 1:
            raise ValueError("logs_per_task must be >= 0 and log_days >= 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.start_delay_ms < 0 or self.stop_delay_ms < 0:
            raise ValueError("start_delay_ms and stop_delay_ms must not be negative")
        if not self.log_retention_days > 0:
            raise ValueError("log_retention_days must be positive")
        if self.ak_lock_after < 1 or self.ak_lock_s < 0:
            raise ValueError("ak_lock_after must be at least 1 and ak_lock_s >= 0")
        if self.token_lifetime_s <= 0 or self.max_clock_skew_s < 0:
            raise ValueError("token_lifetime_s must be positive and max_clock_skew_s >= 0")
        if self.rate_limit_rps is not None:
            RateLimiter(self.rate_limit_rps, self.rate_limit_burst)  # checks the values

    def task_counts(self) -> tuple[int, ...]:
        """The number of tasks of each instance (a short tuple repeats its last count)."""
        per = self.tasks_per_instance
        if isinstance(per, int):
            return (per,) * self.instances
        if not per:
            raise ValueError("tasks_per_instance must not be an empty sequence")
        return tuple(per[i] if i < len(per) else per[-1] for i in range(self.instances))


def options_from_environment(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``SandboxOptions`` named by ``$ROMA_NB_SANDBOX_OPTIONS`` (``{}`` when unset).

    Anything but a JSON object of known option names is a ``ValueError`` that says so; the
    values themselves are checked by ``SandboxOptions``.
    """
    raw = (os.environ if env is None else env).get(OPTIONS_VARIABLE, "").strip()
    if not raw:
        return {}
    try:
        options = json.loads(raw)
    except ValueError:
        options = None
    if not isinstance(options, dict):
        raise ValueError(f"{OPTIONS_VARIABLE} must be a JSON object of sandbox options: {raw!r}")
    known = {f.name for f in fields(SandboxOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"{OPTIONS_VARIABLE} names unknown sandbox options {unknown}; "
            f"known: {', '.join(sorted(known))}"
        )
    return options


class SandboxState:
    """The sandbox's world. ``SandboxState(seed=1, tasks_per_instance=10)``; see ``SandboxOptions``.

    Data: ``instances``, ``tasks(instance_id)``, ``task(instance_id, task_id)``,
    ``monitor_logs(task)``; the lifecycle: ``start_task``, ``stop_task``, ``run_task``,
    ``terminate_task``, ``record_reset``, on the clock ``now()`` that ``advance(ms)`` moves on
    (``clock``, epoch ms, replaces the system clock, for tests).
    Records: ``calls``, ``resets``, ``logins``, ``clear_records()``.
    Credentials: ``token`` (always accepted), ``users``, ``ak``/``sk``, ``issued(token)``,
    ``expire_tokens()``, ``reject_token(t)``, ``deny(credential)``.
    Trouble: ``inject(kind, ...)``, ``clear()``, ``set_latency(ms)``, ``set_rate_limit(rps)``.
    """

    def __init__(
        self,
        options: SandboxOptions | None = None,
        *,
        clock: Callable[[], int] | None = None,
        **overrides: Any,
    ) -> None:
        base = options or SandboxOptions()
        if "tasks_per_instance" in overrides and isinstance(
            overrides["tasks_per_instance"], Sequence
        ):
            overrides["tasks_per_instance"] = tuple(overrides["tasks_per_instance"])
        opts = replace(base, **overrides)
        if opts.now_ms is None:
            opts = replace(opts, now_ms=_now_floor_minute_ms())
        if opts.project_id is None:
            opts = replace(opts, project_id=make_project_id(opts.seed))
        self.options: SandboxOptions = opts
        self.project_id: str = opts.project_id or ""
        self.now_ms: int = opts.now_ms or 0
        self.token: str = f"sandbox-token-{make_project_id(opts.seed + 1)}"
        self._lock = threading.RLock()
        self._clock = Clock(clock)
        self._recorder = Recorder()
        self.accounts = Accounts(opts.seed, users=opts.users, access_keys=opts.access_keys)
        self._latency_ms = opts.latency_ms
        self._faults = FaultPlan()  # before the lifecycle, which takes the per-task faults
        self._rate_limiter = self._initial_rate_limiter()
        self._instances: list[InstanceRow] = []
        self._tasks: dict[str, list[TaskRow]] = {}
        self._task_index: dict[tuple[str, str], TaskRow] = {}
        self._build_data()

    # -- data ---------------------------------------------------------------------------------

    def _new_lifecycle(self) -> Lifecycle:
        opts = self.options
        return Lifecycle(
            seed=opts.seed,
            logs_per_task=opts.logs_per_task,
            log_days=opts.log_days,
            start_delay_ms=opts.start_delay_ms,
            stop_delay_ms=opts.stop_delay_ms,
            log_retention_days=opts.log_retention_days,
            faults=self._faults,
            clock=self._clock,
        )

    def _build_data(self) -> None:
        opts = self.options
        instances = make_instances(opts.seed, opts.instances, self.project_id, self.now_ms)
        tasks = {
            inst.id: make_tasks(opts.seed, inst, count, self.now_ms)
            for inst, count in zip(instances, opts.task_counts(), strict=True)
        }
        with self._lock:
            self._instances = instances
            self._tasks = tasks
            self._task_index = {(t.instance_id, t.task_id): t for ts in tasks.values() for t in ts}
            self._clock.offset_ms = 0
            self.lifecycle: Lifecycle = self._new_lifecycle()

    @property
    def instances(self) -> list[InstanceRow]:
        with self._lock:
            return list(self._instances)

    def instance(self, instance_id: str) -> InstanceRow | None:
        with self._lock:
            return next((i for i in self._instances if i.id == instance_id), None)

    def tasks(self, instance_id: str) -> list[TaskRow]:
        """The tasks of an instance in creation order (``[]`` for an unknown instance), with
        every start or stop that is due by now visible."""
        with self._lock:
            self.lifecycle.settle()
            return list(self._tasks.get(instance_id, ()))

    def task(self, instance_id: str, task_id: str) -> TaskRow | None:
        with self._lock:
            self.lifecycle.settle()
            return self._task_index.get((instance_id, task_id))

    def delete_task(self, instance_id: str, task_id: str) -> bool:
        """Remove a task, as someone deleting it in the console would: from then on it is
        in no list and every call about it answers "does not exist". False if unknown."""
        with self._lock:
            task = self._task_index.pop((instance_id, task_id), None)
            if task is None:
                return False
            self._tasks[instance_id] = [t for t in self._tasks[instance_id] if t is not task]
            return True

    def combined_tasks(self, instance_id: str) -> list[TaskRow]:
        return [t for t in self.tasks(instance_id) if t.combined]

    def monitor_logs(self, task: TaskRow) -> list[dict[str, Any]]:
        """The task's monitor logs as of now, newest first (its seeded history is made on first
        use; a running execution's counts grow with the clock)."""
        with self._lock:
            self.lifecycle.settle()
            return self.lifecycle.monitor_logs(task)

    def start_task(self, task: TaskRow) -> tuple[str, str] | None:
        """Accept a start from the batch call, or the (code, message) of its ``failure[]``."""
        with self._lock:
            self.lifecycle.settle()
            return self.lifecycle.start(task)

    def stop_task(self, task: TaskRow) -> tuple[str, str] | None:
        """Accept a stop from the batch call, or the (code, message) of its ``failure[]``."""
        with self._lock:
            self.lifecycle.settle()
            return self.lifecycle.stop(task)

    def run_task(self, task: TaskRow) -> bool:
        """``RunTask``: one scheduling now; ``False`` while an execution is running."""
        with self._lock:
            self.lifecycle.settle()
            return self.lifecycle.run(task)

    def terminate_task(self, task: TaskRow) -> None:
        """``StopTask``: cancel the current execution (the task stays started or stopped)."""
        with self._lock:
            self.lifecycle.settle()
            self.lifecycle.terminate(task)

    def now(self) -> int:
        """The lifecycle's clock: epoch milliseconds, moved on by ``advance``."""
        return self._clock.now_ms()

    def advance(self, ms: float) -> None:
        """Move the lifecycle's clock ``ms`` forward: delayed starts and stops fall due, running
        executions count more rows. Nothing else (tokens, rate limits) sees this clock."""
        if ms < 0:
            raise ValueError("the clock only moves forward: ms must not be negative")
        with self._lock:
            self._clock.offset_ms += int(ms)
            self.lifecycle.settle()

    # -- settings -----------------------------------------------------------------------------

    @property
    def latency_ms(self) -> float:
        with self._lock:
            return self._latency_ms

    def set_latency(self, latency_ms: float) -> None:
        """Add ``latency_ms`` to every answer from now on (0 switches it off)."""
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        with self._lock:
            self._latency_ms = float(latency_ms)

    def _initial_rate_limiter(self) -> RateLimiter | None:
        rps = self.options.rate_limit_rps
        return None if rps is None else RateLimiter(rps, self.options.rate_limit_burst)

    def set_rate_limit(self, rps: float | None, burst: int | None = None) -> None:
        """Allow ``rps`` requests per second (``burst`` at once); ``None`` lifts the limit."""
        limiter = None if rps is None else RateLimiter(rps, burst)
        with self._lock:
            self._rate_limiter = limiter

    @property
    def rate_limit(self) -> RateLimiter | None:
        with self._lock:
            return self._rate_limiter

    # -- faults -------------------------------------------------------------------------------

    def inject(
        self, kind: str, *, times: int | None = 1, match: str | None = None, **params: Any
    ) -> Fault:
        """Queue a fault for the next ``times`` matching requests (see ``faults``)."""
        return self._faults.add(make_fault(kind, times=times, match=match, **params))

    def clear(self) -> None:
        """Remove every queued fault and the rate limit (latency stays)."""
        self._faults.clear()
        with self._lock:
            self._rate_limiter = None

    @property
    def faults(self) -> list[Fault]:
        """The faults still queued, with what remains of each."""
        return self._faults.pending

    def take_fault(self, incoming: Incoming) -> Fault | None:
        return self._faults.take(incoming)

    def take_task_fault(self, kind: str, task_id: str) -> Fault | None:
        """A queued task fault (``stop_fails``, ``stuck_stopping``...) hitting ``task_id``."""
        return self._faults.take_for_task(kind, task_id)

    # -- credentials --------------------------------------------------------------------------

    @property
    def users(self) -> dict[str, SandboxUser]:
        """IAM users by name (the seeded ``sandbox-user`` and any from the options)."""
        return dict(self.accounts.users)

    @property
    def ak(self) -> str:
        return self.accounts.ak

    @property
    def sk(self) -> str:
        return self.accounts.sk

    def issued(self, token: str) -> IssuedToken | None:
        """What a token issued by ``/v3/auth/tokens`` stands for (``None``: not issued here)."""
        return self.accounts.issued(token)

    def expire_tokens(self) -> None:
        """Expire every token issued so far (the next use gets 401 APIGW.0307)."""
        self.accounts.expire_tokens()

    def reject_token(self, token: str) -> None:
        """Answer 401 APIGW.0301 to requests carrying ``token`` (as if IAM had revoked it)."""
        self.accounts.reject(token)

    def deny(self, credential: str) -> None:
        """Answer 403 APIGW.0302 to requests with this token or AK (authenticated, not allowed)."""
        self.accounts.deny(credential)

    def is_rejected(self, token: str) -> bool:
        return self.accounts.is_rejected(token)

    def is_denied(self, credential: str) -> bool:
        return self.accounts.is_denied(credential)

    # -- records ------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        return self._recorder.calls

    @property
    def resets(self) -> list[ResetRecord]:
        return self._recorder.resets

    @property
    def logins(self) -> list[Login]:
        return self._recorder.logins

    def record_call(self, call: Call) -> None:
        self._recorder.add_call(call)

    def record_reset(self, reset: ResetRecord) -> None:
        """A reset took effect: remember it, and let the task's next start read from it."""
        task = self.task(reset.instance_id, reset.task_id)
        if task is not None:
            with self._lock:
                self.lifecycle.record_reset(task, reset.date_from)
        self._recorder.add_reset(reset)

    def record_login(self, login: Login) -> None:
        self._recorder.add_login(login)

    def clear_records(self) -> None:
        """Forget calls, resets and logins (data and settings stay)."""
        self._recorder.clear()

    def reset(self) -> None:
        """Back to what the options describe: fresh data, no records, faults or refusals."""
        self._build_data()
        self._recorder.clear()
        self.accounts.clear()
        self._faults.clear()
        with self._lock:
            self._latency_ms = self.options.latency_ms
            self._rate_limiter = self._initial_rate_limiter()

"""What there is to pick from: instances, their combined tasks with monitor state, and a fast index.

The pickers and the model read the service through one ``Catalog`` so an instance's tasks are
listed once, not once per widget, and so the task list can be searched as the person types. A
project may have thousands of combined tasks; ``TaskIndex`` precomputes each task's label and its
lower-case search key once, so filtering 10,000 tasks is a pass of substring tests over a list
of strings, and only the first ``limit`` matches are handed to the browser.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..dates import format_instant
from ..errors import RomaError, ValidationError
from ..models import Instance, Task, TaskMonitor

if TYPE_CHECKING:
    from ..client import RomaClient

__all__ = ["STATES", "Catalog", "SearchResult", "TaskEntry", "TaskIndex", "instance_warning"]

logger = logging.getLogger("roma_nb.panel")


STATES = ("running", "stopped", "error", "unknown")
"""A task's state as a person decides with it, in the order the pickers list them."""


def instance_warning(instance: Instance | None) -> str | None:
    """Why resetting tasks of this instance is risky (FROZEN, or any status but RUNNING), or
    None. One sentence shared by the instance picker and the confirmation."""
    if instance is None or not instance.status or instance.status == "RUNNING":
        return None
    return (
        f"Instance {instance.name or instance.id} is {instance.status}, not RUNNING: its "
        "tasks may not accept a reset, or not run after it."
    )


def _short_utc(ms: int | None) -> str:
    if ms is None:
        return "never run"
    try:
        return "last run " + format_instant(ms).utc_iso
    except ValidationError:
        return f"last run {ms} (not a valid time)"


@dataclass(frozen=True, slots=True)
class TaskEntry:
    """A combined task as a picker shows it: the task, its monitor state, a label, a search key."""

    task: Task
    monitor: TaskMonitor | None = None
    label: str = field(init=False, compare=False)
    search_key: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        name = self.task.task_name or "(no name)"
        label = " · ".join(
            [
                name,
                self.task.task_id,
                self.task.status_text,
                self.execute_status or "no execute status",
                _short_utc(self.last_execute_time),
            ]
        )
        object.__setattr__(self, "label", label)
        key = f"{self.task.task_name}\n{self.task.task_id}".casefold()
        object.__setattr__(self, "search_key", key)

    @property
    def task_id(self) -> str:
        return self.task.task_id

    @property
    def task_name(self) -> str:
        return self.task.task_name

    @property
    def execute_status(self) -> str | None:
        """The monitor's view when there is one (it is fresher), else the task list's."""
        if self.monitor is not None and self.monitor.execute_status:
            return self.monitor.execute_status
        return self.task.execute_status

    @property
    def last_execute_time(self) -> int | None:
        return self.monitor.last_execute_time if self.monitor is not None else None

    @property
    def state(self) -> str:
        """One of ``STATES``: "error" when its last execution failed (whether or not the task
        is still started), else running / stopped from ``status``, else "unknown"."""
        if (self.execute_status or "").strip().upper() == "ERROR":
            return "error"
        return self.task.status_text


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The first ``limit`` matches of a filter (``shown``) and how many matched in all.

    ``states`` counts the tasks that match the text, per state, whichever state was asked: what
    a state filter would show if chosen.
    """

    shown: tuple[TaskEntry, ...]
    total: int
    states: Mapping[str, int] = field(default_factory=dict)

    @property
    def hidden(self) -> int:
        return self.total - len(self.shown)


class TaskIndex:
    """An instance's combined tasks, searchable by name or id as the person types.

    Whitespace separates terms; a task matches when every term is a substring of its name or id,
    case-insensitively.
    """

    def __init__(self, entries: Iterable[TaskEntry]) -> None:
        self.entries: tuple[TaskEntry, ...] = tuple(entries)
        self._keys: list[str] = [e.search_key for e in self.entries]
        self._states: list[str] = [e.state for e in self.entries]
        self._by_id: dict[str, TaskEntry] = {e.task_id: e for e in self.entries}

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, task_id: str) -> TaskEntry | None:
        return self._by_id.get(task_id)

    def search(self, text: str, limit: int = 500, state: str | None = None) -> SearchResult:
        """Matches of ``text`` (and of ``state``, one of ``STATES``, when given) in list order;
        at most ``limit`` of them are returned."""
        if state is not None and state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        terms = text.casefold().split()
        hits: Sequence[int]
        if not terms:
            hits = range(len(self.entries))
        elif len(terms) == 1:
            term = terms[0]
            hits = [i for i, key in enumerate(self._keys) if term in key]
        else:
            hits = [i for i, key in enumerate(self._keys) if all(t in key for t in terms)]
        states = Counter(self._states[i] for i in hits)
        if state is not None:
            hits = [i for i in hits if self._states[i] == state]
        shown = tuple(self.entries[i] for i in hits[:limit])
        return SearchResult(shown, len(hits), {s: states[s] for s in STATES})


def _join(tasks: Sequence[Task], monitors: Sequence[TaskMonitor]) -> list[TaskEntry]:
    by_id = {m.task_id: m for m in monitors}
    return [TaskEntry(task, by_id.get(task.task_id)) for task in tasks]


class Catalog:
    """Instances and combined tasks of one client, listed on first use and cached until refreshed.

    Thread-safe: a background run and a widget callback may ask at the same time. ``notes``
    holds, per instance id, why monitor state is missing (the task list still works without it).
    """

    def __init__(self, client: RomaClient) -> None:
        self.client = client
        self._lock = threading.RLock()
        self._instances: list[Instance] | None = None
        self._tasks: dict[str, TaskIndex] = {}
        self.notes: dict[str, str] = {}

    @property
    def environment(self) -> str:
        return str(self.client.environment)

    def instances(self, *, refresh: bool = False) -> list[Instance]:
        """Every instance of the project; lists them again with ``refresh=True``."""
        with self._lock:
            if self._instances is None or refresh:
                self._instances = list(self.client.list_instances())
            return list(self._instances)

    def instance(self, instance_id: str) -> Instance | None:
        return next((i for i in self.instances() if i.id == instance_id), None)

    def tasks(self, instance_id: str, *, refresh: bool = False) -> TaskIndex:
        """The instance's combined tasks joined with their monitor state.

        If the monitors cannot be read, the tasks are still listed (without last execute time)
        and ``notes[instance_id]`` says why.
        """
        with self._lock:
            index = self._tasks.get(instance_id)
            if index is not None and not refresh:
                return index
            tasks = self.client.list_tasks(instance_id)
            try:
                monitors = self.client.task_monitors(instance_id)
            except RomaError as exc:
                logger.warning("monitor state of instance %s unavailable: %s", instance_id, exc)
                self.notes[instance_id] = f"Monitor state unavailable: {exc}"
                monitors = []
            else:
                self.notes.pop(instance_id, None)
            index = TaskIndex(_join(tasks, monitors))
            self._tasks[instance_id] = index
            return index

    def last_log_start(self, instance_id: str, task_id: str) -> int | None:
        """When the task's most recent monitor log started (epoch ms), or None without logs."""
        logs = self.client.monitor_logs(instance_id, task_id)
        starts = [log.start_time for log in logs if log.start_time is not None]
        return max(starts) if starts else None

"""Rewind benchmark (issue 13): 50 running combined tasks, 20 ms server latency, 500 ms stop and
start delays, ``verify=False``, against the sandbox on a real socket.

The bound is what the procedure cannot avoid, each part measured in this same run:

    one round of stop calls (5 batch calls of 10, sent together)
  + the stop delay
  + the 50 resets at the rewind's concurrency (``reset_many`` alone, on stopped tasks)
  + one round of start calls
  + the start delay

Target: the rewind's wall time ≤ 1.3× the bound, and every batch call carries ≤ 10 tasks (read
from the sandbox's call records). Also printed: the extra time ``verify=True`` takes.

Run with ``python -m bench rewind`` or ``python -m bench.bench_rewind``.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from roma_nb.auth import TokenAuth
from roma_nb.client import RomaClient
from roma_nb.models import RewindStep
from roma_nb.sandbox import Sandbox, serve

TASKS = 50
LATENCY_MS = 20
DELAY_MS = 500
CONCURRENCY = 8
RUNS = 5
TARGET = 1.3


def _wall(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _running(sandbox: Sandbox) -> list[tuple[str, str]]:
    """The first ``TASKS`` running combined tasks (not in ERROR), instance by instance."""
    found: list[tuple[str, str]] = []
    for instance in sandbox.state.instances:
        found += [
            (instance.id, t.task_id)
            for t in sandbox.state.combined_tasks(instance.id)
            if t.status == 1 and t.execute_status != "ERROR"
        ]
    assert len(found) >= TASKS, f"only {len(found)} running combined tasks"
    return found[:TASKS]


def _by_instance(targets: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for instance, task in targets:
        grouped.setdefault(instance, []).append(task)
    return grouped


def _round(client: RomaClient, targets: list[tuple[str, str]], action: str) -> None:
    """One round of batch calls for ``targets``, all sent together as the rewind sends them
    (each client call chunks by 10 and sends its calls together; instances side by side)."""
    method = client.start_tasks if action == "start" else client.stop_tasks
    groups = _by_instance(targets)
    with ThreadPoolExecutor(len(groups)) as pool:
        list(pool.map(lambda group: method(*group), groups.items()))


def _batch_sizes(sandbox: Sandbox) -> list[int]:
    sizes = []
    for call in sandbox.calls:
        if call.path.endswith("/batch-operation/tasks"):
            sizes.append(len(json.loads(call.body)["list"]))
    return sizes


def _components(sandbox: Sandbox, client: RomaClient) -> dict[str, float]:
    """The bound's parts, fastest of ``RUNS``: a round of batch calls (a start of running tasks,
    which the service refuses task by task: the same round trip, nothing changes) and the
    resets alone on stopped tasks."""
    rounds: list[float] = []
    resets: list[float] = []
    for _ in range(RUNS):
        sandbox.reset_state()
        targets = _running(sandbox)
        rounds.append(_wall(partial(_round, client, targets, "start")))
        _round(client, targets, "stop")
        time.sleep(DELAY_MS / 1000 + 0.1)
        reset = partial(client.reset_many, targets, _date_from(sandbox), concurrency=CONCURRENCY)
        resets.append(_wall(reset))
    return {"batch round": min(rounds), "resets": min(resets)}


def _date_from(sandbox: Sandbox) -> int:
    return sandbox.state.now() - 3_600_000


@dataclass(frozen=True)
class Run:
    """One rewind: its wall time, outcomes, batch sizes, and when each step's rows were done
    (seconds from the start: the phases, to see where the time goes)."""

    wall: float
    outcomes: list[str]
    sizes: list[int]
    phases: dict[str, float]


def _rewind(sandbox: Sandbox, client: RomaClient, *, verify: bool) -> Run:
    sandbox.reset_state()
    targets = _running(sandbox)
    sandbox.clear_records()
    results: list[Any] = []
    phases: dict[str, float] = {}
    started = time.perf_counter()

    def progress(row: RewindStep) -> None:
        phases[row.step] = time.perf_counter() - started

    results.extend(
        client.rewind(
            targets, _date_from(sandbox), verify=verify, concurrency=CONCURRENCY, progress=progress
        )
    )
    wall = time.perf_counter() - started
    return Run(wall, sorted({r.outcome for r in results}), _batch_sizes(sandbox), phases)


def _spread(runs: list[Run]) -> str:
    walls = sorted(run.wall for run in runs)
    return f"{walls[0]:.3f} / {statistics.median(walls):.3f} / {walls[-1]:.3f} s"


def _phases(run: Run) -> str:
    """Each step's share of the wall time: when its last row was done, minus the step before."""
    parts, last = [], 0.0
    for step, done in sorted(run.phases.items(), key=lambda item: item[1]):
        parts.append(f"{step} {(done - last) * 1000:.0f}")
        last = done
    return ", ".join(parts) + " ms"


def main() -> None:
    with (
        serve(
            tasks_per_instance=250,
            latency_ms=LATENCY_MS,
            stop_delay_ms=DELAY_MS,
            start_delay_ms=DELAY_MS,
        ) as sandbox,
        RomaClient(
            sandbox.url, project_id=sandbox.project_id, auth=TokenAuth(sandbox.token)
        ) as client,
    ):
        parts = _components(sandbox, client)
        delays = 2 * DELAY_MS / 1000
        bound = 2 * parts["batch round"] + parts["resets"] + delays
        plain = [_rewind(sandbox, client, verify=False) for _ in range(RUNS)]
        verified = [_rewind(sandbox, client, verify=True) for _ in range(RUNS)]
    best = min(plain, key=lambda run: run.wall)
    best_verified = min(verified, key=lambda run: run.wall)
    ratio = best.wall / bound
    sizes = [size for run in plain + verified for size in run.sizes]
    print(
        f"rewind of {TASKS} running tasks, {LATENCY_MS} ms latency, {DELAY_MS} ms stop/start "
        f"delays, concurrency {CONCURRENCY}, verify=False (fastest of {RUNS})"
    )
    print(
        f"  parts: batch round {parts['batch round'] * 1000:.0f} ms (x2), resets "
        f"{parts['resets'] * 1000:.0f} ms, delays {delays * 1000:.0f} ms"
    )
    print(
        f"  wall {best.wall:.3f} s  bound {bound:.3f} s  ratio {ratio:.2f}x (target <= {TARGET}x)"
    )
    print(f"  spread of the {RUNS} walls (min / median / max): {_spread(plain)}")
    print(f"  phases of the fastest: {_phases(best)}")
    print(
        f"  outcomes {sorted({o for run in plain + verified for o in run.outcomes})}; batch "
        f"calls {len(best.sizes)} per rewind, max tasks per call {max(sizes)}"
    )
    print(
        f"  verify=True: wall {best_verified.wall:.3f} s, +{best_verified.wall - best.wall:.3f} s "
        f"for the verification (walls {_spread(verified)})"
    )
    print(
        f"  {'OK' if ratio <= TARGET and max(sizes) <= 10 else 'OVER TARGET'}",
        flush=True,
    )


if __name__ == "__main__":
    main()

"""History benchmarks (issue 4): durable append rate, and ``to_frame`` against plain pandas.

Targets: at least 2,000 rows/s for durable single-writer appends, and ``ResultLog.to_frame()`` on
100,000 rows at most 2× the time of ``pandas.DataFrame.from_records`` on the same rows (as the
list of dicts a user would otherwise accumulate). Both sides are measured in this run, best of
three, so a busy machine slows both.

Run with ``make bench`` or ``python -m bench history``.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from roma_nb.history import Durability, RecordContext, ResultLog
from roma_nb.models import OUTCOMES, ResetResult

FRAME_ROWS = 100_000
PAIRS = 1_000
APPENDS = 2_000
CONTEXT = RecordContext(project_id="0123456789abcdef", endpoint_label="SANDBOX", actor="bench")


def best_of(runs: int, fn: Callable[[], object]) -> float:
    """The fastest of a few runs: noise on a shared machine only ever adds time."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - started)
    return min(timings)


def make_results(count: int, seed: int = 4) -> list[ResetResult]:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    results = []
    for i in range(count):
        outcome = rng.choice(OUTCOMES)
        failed = outcome == "failed"
        results.append(
            ResetResult(
                instance_id=f"instance-{i % 7}",
                task_id=f"task-{i % 997:04d}",
                task_name=f"orders sync {i % 997}",
                outcome=outcome,
                date_from=1_700_000_000_000 + i * 1000 if i % 10 else None,
                status_code=400 if failed else (200 if outcome == "success" else None),
                message="Reset Success" if outcome == "success" else None,
                error_code="FDI.3023" if failed else None,
                error_msg="One or more tasks are running." if failed else None,
                request_id=f"{rng.getrandbits(128):032x}",
                elapsed_ms=rng.uniform(5, 500),
                attempts=0 if outcome in ("dry-run", "skipped") else 1,
                at=start + timedelta(seconds=i),
            )
        )
    return results


def append_rates(directory: Path, durability: Durability) -> tuple[float, float]:
    """(begin+complete rows/s, append rows/s), one transaction per write, best of three rounds
    on one file (so later rounds also pay for a growing file and its checkpoints).
    """
    results = make_results(max(PAIRS, APPENDS), seed=1)

    def pairs() -> None:
        for result in results[:PAIRS]:
            row = log.begin(
                result.instance_id,
                result.task_id,
                date_from=result.date_from,
                task_name=result.task_name,
                dry_run=result.outcome == "dry-run",
            )
            log.complete(row, result)

    def appends() -> None:
        for result in results[:APPENDS]:
            log.append(result)

    path = directory / f"rates-{durability}.sqlite3"
    with ResultLog(path, context=CONTEXT, durability=durability) as log:
        pair_rate = PAIRS / best_of(3, pairs)
        append_rate = APPENDS / best_of(3, appends)
    return pair_rate, append_rate


def raw_sqlite_rate(directory: Path, durability: Durability) -> float:
    """Commits/s of bare sqlite3 single-row INSERTs in WAL: the disk's ceiling, for context."""
    conn = sqlite3.connect(directory / f"raw-{durability}.sqlite3", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {durability.upper()}")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER)")

        def inserts() -> None:
            for i in range(APPENDS):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t (a, b) VALUES (?, ?)", ("x" * 60, i))
                conn.execute("COMMIT")

        return APPENDS / best_of(3, inserts)
    finally:
        conn.close()


def frame_ratio(directory: Path) -> tuple[float, float, float]:
    """(to_frame s, from_records-of-dicts s, from_records-of-tuples s) on FRAME_ROWS rows."""
    import pandas as pd

    results = make_results(FRAME_ROWS)
    with ResultLog(directory / "frame.sqlite3", context=CONTEXT, durability="normal") as log:
        log.extend(results)
        dicts = [
            {
                **r.to_dict(),
                "dry_run": r.outcome == "dry-run",
                "project_id": CONTEXT.project_id,
                "endpoint": CONTEXT.endpoint_label,
                "actor": CONTEXT.actor,
            }
            for r in results
        ]
        tuples = [tuple(d.values()) for d in dicts]
        frame = log.to_frame()
        assert len(frame) == FRAME_ROWS
        ours = best_of(3, log.to_frame)
        from_dicts = best_of(3, lambda: pd.DataFrame.from_records(dicts))
        from_tuples = best_of(3, lambda: pd.DataFrame.from_records(tuples))
    return ours, from_dicts, from_tuples


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="roma-nb-bench-") as tmp:
        directory = Path(tmp)
        ok = True
        print("| measurement | rows/s | target |")
        print("| --- | --- | --- |")
        durabilities: tuple[Durability, ...] = ("full", "normal")
        for durability in durabilities:
            pairs, appends = append_rates(directory, durability)
            raw = raw_sqlite_rate(directory, durability)
            target = "≥ 2,000" if durability == "full" else "(not synced: bulk work)"
            label = f'durability="{durability}"'
            print(f"| begin+complete, {label} | {pairs:,.0f} | {target} |")
            print(f"| append, {label} | {appends:,.0f} | {target} |")
            print(f"| bare sqlite3 INSERT+COMMIT, {label} (ceiling) | {raw:,.0f} | |")
            if durability == "full":
                ok = ok and min(pairs, appends) >= 2_000
        ours, from_dicts, from_tuples = frame_ratio(directory)
        ratio = ours / from_dicts
        print()
        print(f"| {FRAME_ROWS:,} rows | seconds | ratio | target |")
        print("| --- | --- | --- | --- |")
        print(f"| ResultLog.to_frame() (SQLite read + dtypes) | {ours:.3f} | | |")
        print(f"| DataFrame.from_records(list of dicts) | {from_dicts:.3f} | {ratio:.2f}× | ≤ 2 |")
        print(
            f"| DataFrame.from_records(list of tuples) | {from_tuples:.3f} "
            f"| {ours / from_tuples:.2f}× | (for reference) |"
        )
        ok = ok and ratio <= 2
        print("\ntargets met" if ok else "\nTARGET MISSED")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

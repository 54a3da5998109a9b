"""Every SQL statement of the history, in one place; the column lists come from ``SCHEMA``.

The file holds three tables: ``attempts`` (one row per attempt), ``targets`` (what an attempt
targeted) and ``writers`` (who wrote it), plus a ``history`` view joining them for people who
open the file with sqlite3. Statements that name data columns are built from ``_columns.SCHEMA``,
so a column added there is written, completed and read without touching this module; only the
migration that adds it to existing files is written by hand (append it to ``MIGRATIONS``).

Migration ``n`` (0-based) takes a file from schema version ``n`` to ``n + 1``; a migration is
history, so one that has shipped is never edited.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any

from ._columns import OUTCOME_CATEGORIES, SCHEMA, Column, stored_in
from ._filters import Filter

__all__ = [
    "ADD_META",
    "ADD_TARGET",
    "ADD_WRITER",
    "ATTEMPT_WRITES",
    "COMPLETE",
    "COMPLETE_IF_SAME",
    "COUNT",
    "CREATE_META",
    "FIND_TARGET",
    "FIND_WRITER",
    "INSERT_ATTEMPT",
    "META",
    "META_TABLE",
    "MIGRATIONS",
    "OBJECTS",
    "PENDING",
    "READ",
    "RESULT_WRITES",
    "ROW_FOR_COMPLETE",
    "SET_VERSION",
    "STEP_ROWS",
    "TARGETS",
    "TARGET_COLUMNS",
    "WRITERS",
    "WRITER_COLUMNS",
    "Migration",
    "insert_attempt",
    "mark_interrupted",
    "select",
]

Migration = Callable[[sqlite3.Connection], None]

META_TABLE = "roma_nb_meta"


def _v1_attempts(conn: sqlite3.Connection) -> None:
    """One row per attempt in ``attempts``; what it targeted in ``targets``; who wrote it in
    ``writers``; and a ``history`` view joining them for people who open the file with sqlite3.

    Times are integer microseconds (``at_us``) so they round-trip exactly. A batch repeats the
    same writer (process + project + endpoint label + actor) and the same few tasks on every row,
    so those are stored once: rows stay small and reading 100,000 of them creates far fewer
    Python strings. A writer's ``host`` / ``pid`` / ``token`` tell a crashed writer's pending
    rows from a slow call's.
    """
    conn.execute(
        """
        CREATE TABLE writers (
            id INTEGER PRIMARY KEY,
            project_id TEXT,
            endpoint TEXT,
            actor TEXT,
            host TEXT,
            pid INTEGER,
            token TEXT
        )
        """
    )
    conn.execute(
        """
        CREATE TABLE targets (
            id INTEGER PRIMARY KEY,
            instance_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            task_name TEXT
        )
        """
    )
    conn.execute("CREATE INDEX targets_task ON targets (task_id, instance_id)")
    conn.execute(
        """
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,  -- rows are never deleted, so ids are never reused
            at_us INTEGER NOT NULL,
            target_id INTEGER NOT NULL REFERENCES targets (id),
            date_from_ms INTEGER,
            outcome TEXT NOT NULL,
            status_code INTEGER,
            message TEXT,
            error_code TEXT,
            error_msg TEXT,
            request_id TEXT,
            elapsed_ms REAL,
            attempts INTEGER NOT NULL DEFAULT 0,
            dry_run INTEGER NOT NULL DEFAULT 0,
            writer_id INTEGER NOT NULL REFERENCES writers (id),
            completed_at_us INTEGER,
            interrupted INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    conn.execute("CREATE INDEX attempts_target ON attempts (target_id)")
    conn.execute("CREATE INDEX attempts_at ON attempts (at_us)")
    conn.execute("CREATE INDEX attempts_pending ON attempts (id) WHERE outcome = 'pending'")
    conn.execute(
        """
        CREATE VIEW history AS
        SELECT a.id,
               strftime('%Y-%m-%dT%H:%M:%fZ', a.at_us / 1000000.0, 'unixepoch') AS at,
               t.instance_id, t.task_id, t.task_name, a.date_from_ms, a.outcome,
               a.status_code, a.message, a.error_code, a.error_msg, a.request_id,
               a.elapsed_ms, a.attempts, a.dry_run, w.project_id, w.endpoint, w.actor,
               a.at_us, a.completed_at_us, a.interrupted, a.target_id, a.writer_id
        FROM attempts AS a
        JOIN targets AS t ON t.id = a.target_id
        LEFT JOIN writers AS w ON w.id = a.writer_id
        """
    )


def _v2_rewind_steps(conn: sqlite3.Connection) -> None:
    """A rewind's step rows (``RewindStep``): ``step`` (NULL for a plain reset), the
    ``rewind_id`` tying one rewind's rows together, and ``was_running`` (0/1, NULL unknown); an
    index on the step rows, which ``left_stopped`` reads in order; the view shows them."""
    conn.execute("ALTER TABLE attempts ADD COLUMN step TEXT")
    conn.execute("ALTER TABLE attempts ADD COLUMN rewind_id TEXT")
    conn.execute("ALTER TABLE attempts ADD COLUMN was_running INTEGER")
    conn.execute("CREATE INDEX attempts_steps ON attempts (id) WHERE step IS NOT NULL")
    _recreate_view(conn, "")


def _v3_plan_id(conn: sqlite3.Connection) -> None:
    """``writers.plan_id``: the plan file a writer applied (``roma-nb apply``), so "which plan
    did this?" is one filter; and the ``history`` view shows it."""
    conn.execute("ALTER TABLE writers ADD COLUMN plan_id TEXT")
    _recreate_view(conn, ", w.plan_id")


def _recreate_view(conn: sqlite3.Connection, extra: str) -> None:
    """The ``history`` view over v2's columns plus ``extra`` (each migration that adds a
    column names it here, so a file at any version has a view matching its tables)."""
    conn.execute("DROP VIEW history")
    conn.execute(
        f"""
        CREATE VIEW history AS
        SELECT a.id,
               strftime('%Y-%m-%dT%H:%M:%fZ', a.at_us / 1000000.0, 'unixepoch') AS at,
               t.instance_id, t.task_id, t.task_name, a.date_from_ms, a.outcome,
               a.status_code, a.message, a.error_code, a.error_msg, a.request_id,
               a.elapsed_ms, a.attempts, a.dry_run, w.project_id, w.endpoint, w.actor,
               a.step, a.rewind_id, a.was_running,
               a.at_us, a.completed_at_us, a.interrupted, a.target_id, a.writer_id{extra}
        FROM attempts AS a
        JOIN targets AS t ON t.id = a.target_id
        LEFT JOIN writers AS w ON w.id = a.writer_id
        """
    )


MIGRATIONS: tuple[Migration, ...] = (_v1_attempts, _v2_rewind_steps, _v3_plan_id)

# -- the file's marker (see _schema) -----------------------------------------------------------

OBJECTS = (
    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
)
META = f"SELECT key, value FROM {META_TABLE}"
CREATE_META = f"CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
ADD_META = f"INSERT INTO {META_TABLE} VALUES (?, ?)"
SET_VERSION = f"UPDATE {META_TABLE} SET value = ? WHERE key = 'schema_version'"

# -- writing -----------------------------------------------------------------------------------

TARGET_COLUMNS = stored_in("targets")
WRITER_COLUMNS = stored_in("writers")
_TARGET_KEY = tuple(c.source for c in TARGET_COLUMNS)
_WRITER_KEY = (*(c.source for c in WRITER_COLUMNS), "host", "pid", "token")
"""A writer is also its process (host, pid, a random token): that tells a crashed writer."""


def _find(table: str, key: tuple[str, ...]) -> str:
    matches = " AND ".join(f"{name} IS ?" for name in key)  # IS: NULL matches NULL
    return f"SELECT id FROM {table} WHERE {matches} ORDER BY id LIMIT 1"


def _add(table: str, key: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(key)}) VALUES ({', '.join('?' * len(key))})"


FIND_TARGET, ADD_TARGET = _find("targets", _TARGET_KEY), _add("targets", _TARGET_KEY)
FIND_WRITER, ADD_WRITER = _find("writers", _WRITER_KEY), _add("writers", _WRITER_KEY)

ATTEMPT_WRITES: tuple[Column, ...] = tuple(c for c in stored_in("attempts") if c.name != "id")
"""The ``attempts`` columns an insert fills (``INSERT_ATTEMPT`` takes ``target_id``,
``writer_id`` and then these, in this order)."""
RESULT_WRITES: tuple[Column, ...] = tuple(c for c in SCHEMA if c.from_result)
"""The columns ``complete`` fills from a result (``COMPLETE`` takes ``target_id``, these,
``completed_at_us`` and the row id)."""

_SOURCES = {c.name: c.source for c in ATTEMPT_WRITES}


@functools.lru_cache(maxsize=64)
def insert_attempt(names: tuple[str, ...]) -> str:
    """The INSERT of an ``attempts`` row giving ``target_id``, ``writer_id`` and the columns
    ``names`` (of ``ATTEMPT_WRITES``), in that order; the others are NULL (or their default).

    A single row names only the values it has: ``sqlite3`` adapts every ``None`` it binds
    through a slow protocol lookup, a good part of a write's cost with a dozen NULL columns.
    """
    columns = ", ".join(_SOURCES[name] for name in names)
    marks = ", ".join("?" * (len(names) + 2))
    return f"INSERT INTO attempts (target_id, writer_id, {columns}) VALUES ({marks})"


INSERT_ATTEMPT = insert_attempt(tuple(_SOURCES))
"""The INSERT naming every column, for ``executemany`` over rows that differ."""
_COMPLETED = (
    f"{', '.join(f'{c.source} = ?' for c in RESULT_WRITES)}, completed_at_us = ?, interrupted = 0"
)
COMPLETE_IF_SAME = (
    f"UPDATE attempts SET {_COMPLETED} "
    "WHERE id = ? AND (outcome = 'pending' OR interrupted != 0) AND date_from_ms IS ? "
    "AND EXISTS (SELECT 1 FROM targets AS t WHERE t.id = attempts.target_id "
    "AND t.instance_id = ? AND t.task_id = ? AND t.task_name IS coalesce(?, t.task_name))"
)
"""``complete`` in one statement, when the row may be completed and the result is for its
target, named as it is or not at all (params: ``RESULT_WRITES``, ``completed_at_us``, the row
id, ``date_from_ms``, instance, task, name or None). It leaves ``target_id`` alone: setting it,
even to the same value, rewrites a page of its index in every commit."""
ROW_FOR_COMPLETE = (
    "SELECT t.instance_id, t.task_id, t.task_name, a.date_from_ms, a.outcome, a.interrupted "
    "FROM attempts AS a JOIN targets AS t ON t.id = a.target_id WHERE a.id = ?"
)
"""What ``complete`` checks when ``COMPLETE_IF_SAME`` changed nothing, to say why."""
COMPLETE = f"UPDATE attempts SET target_id = ?, {_COMPLETED} WHERE id = ?"
"""``complete`` of a row whose task the answer renames (params: ``target_id``, as
``COMPLETE_IF_SAME`` up to the row id)."""
STEP_ROWS = (
    "SELECT a.id, a.step, a.outcome, t.instance_id, t.task_id, a.was_running "
    "FROM attempts AS a JOIN targets AS t ON t.id = a.target_id "
    "WHERE a.step IS NOT NULL ORDER BY a.id"
)
"""A rewind's step rows in the order they were first written (what ``left_stopped`` reads)."""
PENDING = (
    "SELECT a.id, a.at_us, w.host, w.pid, w.token FROM attempts AS a "
    "LEFT JOIN writers AS w ON w.id = a.writer_id WHERE a.outcome = 'pending'"
)


def mark_interrupted(count: int) -> str:
    """Turn ``count`` pending rows into ``unknown`` (params: message, completed_at_us, ids)."""
    return (
        "UPDATE attempts SET outcome = 'unknown', interrupted = 1, message = ?, "
        f"completed_at_us = ? WHERE outcome = 'pending' AND id IN ({', '.join('?' * count)})"
    )


# -- reading -----------------------------------------------------------------------------------

COUNT = "SELECT count(*) FROM attempts"

_OUTCOME_CODE = (
    "CASE outcome "
    + " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(OUTCOME_CATEGORIES))
    + " ELSE -1 END"
)


def _read_expression(column: Column) -> str:
    # Outcomes come back as their category codes, computed by SQLite: no Python strings.
    return _OUTCOME_CODE if column.kind == "outcome" else column.source


READ: tuple[tuple[str, str], ...] = (
    *((c.name, _read_expression(c)) for c in stored_in("attempts")),
    ("target_id", "target_id"),
    ("writer_id", "writer_id"),
)
"""(name, SQL expression) of what a read selects per row, in row order: the ``attempts``
columns, then the ids that ``TARGETS`` and ``WRITERS`` resolve."""

TARGETS = f"SELECT id, {', '.join(c.source for c in TARGET_COLUMNS)} FROM targets"
WRITERS = f"SELECT id, {', '.join(c.source for c in WRITER_COLUMNS)} FROM writers"
"""The targets and writers that rows point to. Read them *after* the rows: they are only ever
added to, so every id the rows name is then there."""


def _in(column: str, values: tuple[Any, ...]) -> str:
    return f"{column} IN ({', '.join('?' * len(values))})" if values else "0"


def _where(rows: Filter, *, with_outcome: bool) -> tuple[list[str], list[Any]]:
    """Clauses over ``attempts`` (qualified, so a join with ``targets`` may use them)."""
    clauses: list[str] = []
    params: list[Any] = []
    target: list[str] = []
    for column, values in (("task_id", rows.task_id), ("instance_id", rows.instance_id)):
        if values is not None:
            target.append(_in(column, values))
            params.extend(values)
    if rows.plan_id is not None:  # through the small writers table
        clauses.append(
            f"attempts.writer_id IN (SELECT id FROM writers WHERE {_in('plan_id', rows.plan_id)})"
        )
        params.extend(rows.plan_id)
    if target:  # through the small, indexed targets table
        clauses.append(
            f"attempts.target_id IN (SELECT id FROM targets WHERE {' AND '.join(target)})"
        )
    if with_outcome and rows.outcome is not None:
        clauses.append(_in("attempts.outcome", rows.outcome))
        params.extend(rows.outcome)
    if rows.since_us is not None:
        clauses.append("attempts.at_us >= ?")
        params.append(rows.since_us)
    if rows.until_us is not None:
        clauses.append("attempts.at_us < ?")
        params.append(rows.until_us)
    if rows.dry_run is not None:
        clauses.append("attempts.dry_run = ?")
        params.append(int(rows.dry_run))
    if rows.row_id is not None:
        # One JSON parameter however many ids (a panel may track thousands): no bound-parameter
        # limit to hit, and SQLite looks each id up by primary key.
        clauses.append("attempts.id IN (SELECT value FROM json_each(?))")
        params.append(f"[{','.join(map(str, rows.row_id))}]")
    return clauses, params


def _joined(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


def select(rows: Filter, *, latest: bool) -> tuple[str, list[Any]]:
    """(SQL, params) reading ``READ`` for the rows ``rows`` keeps, oldest first.

    ``latest``: only the most recent attempt of each (instance, task), ranked by ``at`` then id,
    with every filter but ``outcome`` applied before ranking and ``outcome`` after, so
    ``outcome="failed"`` lists the tasks whose latest attempt failed.
    """
    columns = ", ".join(expression for _, expression in READ)
    if not latest:
        clauses, params = _where(rows, with_outcome=True)
        return f"SELECT {columns} FROM attempts{_joined(clauses)} ORDER BY id", params
    clauses, params = _where(rows, with_outcome=False)
    ranked = (
        "SELECT attempts.*, ROW_NUMBER() OVER (PARTITION BY targets.instance_id, "
        "targets.task_id ORDER BY attempts.at_us DESC, attempts.id DESC) AS latest_rank "
        f"FROM attempts JOIN targets ON targets.id = attempts.target_id{_joined(clauses)}"
    )
    outer = ["latest_rank = 1"]
    if rows.outcome is not None:
        outer.append(_in("outcome", rows.outcome))
        params.extend(rows.outcome)
    return f"SELECT {columns} FROM ({ranked}){_joined(outer)} ORDER BY id", params

"""The history file's format: how it is recognised, created and migrated, never clobbered.

A file is ours when its ``roma_nb_meta`` table says ``format = roma_nb.history``; its
``schema_version`` says which of ``MIGRATIONS`` have been applied. Opening a file:

1. anything that does not start with the SQLite header is refused without being opened by SQLite;
2. it is inspected read-only: a database with other tables and no marker, another application's
   ``application_id``, a version newer than this code, or a read error is refused
   (``HistoryError``) with nothing written;
3. only then is a new file initialised or an older one migrated, inside one ``BEGIN IMMEDIATE``
   transaction that inspects again, so several kernels opening the same new file at once end up
   with one schema, created once.

Migration ``n`` (0-based) takes a file from version ``n`` to ``n + 1``; version 0 is "marker, no
tables". Adding a column later means appending a migration, and old files are upgraded in place.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._errors import HistoryError

__all__ = [
    "APPLICATION_ID",
    "FORMAT",
    "MIGRATIONS",
    "Migration",
    "check_header",
    "ensure_schema",
    "set_journal_mode_wal",
]

FORMAT = "roma_nb.history"
APPLICATION_ID = 0x524F4D41  # "ROMA", visible to `file` and `PRAGMA application_id`
META_TABLE = "roma_nb_meta"
_SQLITE_HEADER = b"SQLite format 3\x00"

Migration = Callable[[sqlite3.Connection], None]


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


MIGRATIONS: tuple[Migration, ...] = (_v1_attempts,)


def check_header(path: Path) -> None:
    """Refuse a non-empty file that is not SQLite before SQLite ever touches it."""
    if path.is_dir():
        raise HistoryError(f"history path {str(path)!r} is a directory; give a file name.")
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise HistoryError(f"cannot read history file {str(path)!r}: {exc.strerror}") from None
    if head and head != _SQLITE_HEADER[: len(head)]:
        raise HistoryError(
            f"{str(path)!r} is not a roma_nb history (it is not an SQLite database); "
            "it was left untouched. Point ROMA_NB_HISTORY or path= at another file."
        )


@dataclass(frozen=True, slots=True)
class _State:
    tables: tuple[str, ...]
    version: int | None  # None: no marker (new when there are no tables, else foreign)


def _inspect(conn: sqlite3.Connection, label: str, known: int) -> _State:
    """Read what the file is, refusing anything that is not a history we can use."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = tuple(
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            )
        )
        meta: dict[str, str] = {}
        if META_TABLE in tables:
            meta = {str(k): str(v) for k, v in conn.execute(f"SELECT key, value FROM {META_TABLE}")}
    except sqlite3.DatabaseError as exc:
        raise HistoryError(
            f"{label} cannot be read as a roma_nb history ({exc}); it may be corrupt. "
            "It was left untouched."
        ) from None
    if app_id not in (0, APPLICATION_ID):
        raise HistoryError(
            f"{label} belongs to another application (application_id {app_id:#x}); "
            "it was left untouched."
        )
    if META_TABLE not in tables:
        if tables:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise HistoryError(
                f"{label} is an SQLite database but not a roma_nb history (tables: {shown}); "
                "it was left untouched."
            )
        return _State(tables, None)
    if meta.get("format") != FORMAT:
        raise HistoryError(
            f"{label} has a {META_TABLE} table but is not a roma_nb history; it was left untouched."
        )
    try:
        version = int(meta["schema_version"])
    except (KeyError, ValueError):
        raise HistoryError(
            f"{label} has no readable schema version; it was left untouched."
        ) from None
    if version > known:
        raise HistoryError(
            f"{label} was written by a newer roma_nb (history schema {version}, this version "
            f"knows up to {known}); upgrade roma-nb to read it. It was left untouched."
        )
    return _State(tables, version)


def set_journal_mode_wal(conn: sqlite3.Connection, label: str, *, timeout_s: float) -> None:
    """Switch to WAL so readers never block writers. Another process switching at the same time
    can make SQLite answer with the old mode instead of waiting: try again until the deadline.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise HistoryError(f"cannot use {label}: {exc}") from None
            mode = ""
        if mode == "wal":
            return
        if time.monotonic() > deadline:
            raise HistoryError(f"{label} could not be switched to WAL mode (it stayed {mode!r}).")
        time.sleep(0.01)


def ensure_schema(
    conn: sqlite3.Connection,
    label: str,
    *,
    migrations: Sequence[Migration] = MIGRATIONS,
    on_disk: bool,
    timeout_s: float,
) -> int:
    """Check the file, create or migrate it if needed, and return its schema version."""
    known = len(migrations)
    state = _inspect(conn, label, known)
    if state.version == known:
        if on_disk:
            set_journal_mode_wal(conn, label, timeout_s=timeout_s)
        return known
    if on_disk:
        set_journal_mode_wal(conn, label, timeout_s=timeout_s)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise HistoryError(f"cannot write {label}: {exc}") from None
    try:
        state = _inspect(conn, label, known)  # someone may have been quicker
        version = state.version
        if version is None:
            conn.execute(f"CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(f"INSERT INTO {META_TABLE} VALUES ('format', ?)", (FORMAT,))
            conn.execute(f"INSERT INTO {META_TABLE} VALUES ('schema_version', '0')")
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            version = 0
        for number in range(version, known):
            migrations[number](conn)
        if version != known:
            conn.execute(
                f"UPDATE {META_TABLE} SET value = ? WHERE key = 'schema_version'", (str(known),)
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return known


def file_label(path: Path | None) -> str:
    """How messages name the file."""
    return "the in-memory history" if path is None else f"history file {os.fspath(path)!r}"

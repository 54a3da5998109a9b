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

Migrations live with the rest of the SQL in ``_sql``; version 0 is "marker, no tables". Adding a
column later means appending a migration there, and old files are upgraded in place.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import RomaError
from ._sql import (
    ADD_META,
    CREATE_META,
    META,
    META_TABLE,
    MIGRATIONS,
    OBJECTS,
    SET_VERSION,
    Migration,
)

__all__ = [
    "APPLICATION_ID",
    "FORMAT",
    "HistoryError",
    "check_header",
    "ensure_schema",
    "file_label",
    "set_journal_mode_wal",
]

FORMAT = "roma_nb.history"
APPLICATION_ID = 0x524F4D41  # "ROMA", visible to `file` and `PRAGMA application_id`
_SQLITE_HEADER = b"SQLite format 3\x00"


class HistoryError(RomaError):
    """The history file cannot be used as asked: not ours, corrupt, too new, closed, or misused.

    Raised before anything is written, so a file that is refused is left byte-for-byte as it was.
    """


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


def read_only_uri(path: Path) -> str:
    """The URI that reads ``path`` without writing anything beside it (no ``-wal``/``-shm``).

    ``mode=ro`` alone still creates the ``-shm`` of a WAL file when it can, owned by the reader,
    which then blocks the file's owner ("attempt to write a readonly database"). With no ``-wal``
    beside the file nobody is writing it, so it is read as ``immutable`` (no locks, no shm);
    with one, a writer may be at work, and its ``-wal``/``-shm`` are used read-only.
    """
    quoted = urllib.parse.quote(os.fspath(path.resolve()))
    wal = path.with_name(path.name + "-wal")
    return f"file:{quoted}?mode=ro" + ("" if wal.exists() else "&immutable=1")


def is_writable(path: Path) -> bool:
    """Can this user write the file and create its ``-wal``/``-shm`` beside it?"""
    directory = path.parent if str(path.parent) else Path(".")
    can_write_file = not path.exists() or os.access(path, os.W_OK)
    return can_write_file and os.access(directory, os.W_OK | os.X_OK)


def unreadable(path: Path | None, label: str, exc: BaseException) -> HistoryError:
    """Why SQLite could not read the file: ``integrity_check`` decides whether it is corrupt.

    A healthy file in a read-only directory, or on a full disk, fails to open for writing in
    ways SQLite reports like damage; read without writing anything, it checks ``ok``.
    """
    if path is not None and path.exists():
        try:
            conn = sqlite3.connect(read_only_uri(path), uri=True)
            try:
                verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                conn.close()
        except sqlite3.Error:
            verdict = None
        if verdict == "ok":
            return HistoryError(
                f"{label} is healthy (integrity check: ok) but cannot be opened for writing "
                f"here ({exc}): is its directory read-only, or the disk full? It was left "
                "untouched."
            )
    return HistoryError(
        f"{label} cannot be read as a roma_nb history ({exc}); it may be corrupt. "
        "It was left untouched."
    )


def _inspect(conn: sqlite3.Connection, label: str, known: int, path: Path | None) -> _State:
    """Read what the file is, refusing anything that is not a history we can use."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = tuple(row[0] for row in conn.execute(OBJECTS))
        meta: dict[str, str] = {}
        if META_TABLE in tables:
            meta = {str(k): str(v) for k, v in conn.execute(META)}
    except sqlite3.DatabaseError as exc:
        raise unreadable(path, label, exc) from None
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
    path: Path | None = None,
    read_only: bool = False,
) -> int:
    """Check the file, create or migrate it if needed, and return its schema version."""
    known = len(migrations)
    state = _inspect(conn, label, known, path)
    if state.version == known:
        if on_disk and not read_only:
            set_journal_mode_wal(conn, label, timeout_s=timeout_s)
        return known
    if read_only:
        raise HistoryError(
            f"{label} is read-only for this user and needs to be "
            f"{'created' if state.version is None else 'upgraded'} by its owner first."
        )
    if on_disk:
        set_journal_mode_wal(conn, label, timeout_s=timeout_s)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise HistoryError(f"cannot write {label}: {exc}") from None
    try:
        state = _inspect(conn, label, known, path)  # someone may have been quicker
        version = state.version
        if version is None:
            conn.execute(CREATE_META)
            conn.execute(ADD_META, ("format", FORMAT))
            conn.execute(ADD_META, ("schema_version", "0"))
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            version = 0
        for number in range(version, known):
            migrations[number](conn)
        if version != known:
            conn.execute(SET_VERSION, (str(known),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return known


def file_label(path: Path | None) -> str:
    """How messages name the file."""
    return "the in-memory history" if path is None else f"history file {os.fspath(path)!r}"

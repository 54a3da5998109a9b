"""SQLite I/O of the history: a small connection pool and one short transaction per write.

Why a pool: the panel and ``reset_many`` call ``begin`` / ``complete`` from worker threads while a
notebook may be reading a large frame. A connection is borrowed for one operation and given back,
so threads never share a connection mid-statement, a long read on one connection does not hold up
a write on another (WAL lets them overlap), and short-lived worker threads leave nothing behind.
An in-memory history is one private database, so its pool has exactly one connection.

Durability: every commit survives a killed process (WAL). With ``durability="full"`` a commit
also reaches the disk before it returns (``synchronous=FULL``), so a pending row survives a power
cut too. A transaction may ask for ``durable=False``: it is then committed with
``synchronous=NORMAL`` and reaches the disk with the next durable commit, a checkpoint or close.
``ResultLog.complete`` uses that: a completion lost to a power cut leaves its row ``pending``,
which reads as "may have happened" — the truth on that side — so it need not pay a second
fsync per attempt. ``durability="normal"`` relaxes every commit, for bulk work. ``busy_timeout``
makes concurrent writers queue instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from ._schema import (
    HistoryError,
    check_header,
    ensure_schema,
    file_label,
    is_writable,
    read_only_uri,
    unreadable,
)
from ._sql import MIGRATIONS, Migration

__all__ = ["BUSY_TIMEOUT_S", "Durability", "Store"]

Durability = Literal["full", "normal"]
BUSY_TIMEOUT_S = 60.0
_MAX_IDLE = 8


class Store:
    """Connections to one history database, checked (and created or migrated) on construction."""

    def __init__(
        self,
        path: Path | None,
        *,
        durability: Durability = "full",
        migrations: Sequence[Migration] = MIGRATIONS,
    ) -> None:
        if durability not in ("full", "normal"):
            raise ValueError("durability must be 'full' or 'normal'")
        self.path = path
        self.label = file_label(path)
        self._synchronous = durability.upper()
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._idle: list[sqlite3.Connection] = []
        self._open = 0  # connections alive (idle or borrowed), for the in-memory limit
        self._pid = os.getpid()
        self._closed = False
        self._inherited: list[sqlite3.Connection] = []
        if path is not None:
            check_header(path)
        # A user who may read the file but not write it (or create its -wal/-shm) opens it
        # read-only, creating nothing beside it: its owner's next write must not be blocked.
        self.read_only = path is not None and path.exists() and not is_writable(path)
        conn = self._connect()
        try:
            ensure_schema(
                conn,
                self.label,
                migrations=migrations,
                on_disk=path is not None,
                timeout_s=BUSY_TIMEOUT_S,
                path=path,
                read_only=self.read_only,
            )
        except sqlite3.Error as exc:
            conn.close()
            raise HistoryError(f"cannot prepare {self.label}: {exc}") from None
        except BaseException:
            conn.close()
            raise
        self._idle.append(conn)
        self._open = 1

    def _connect(self) -> sqlite3.Connection:
        target = ":memory:" if self.path is None else os.fspath(self.path)
        if self.path is not None and self.read_only:
            target = read_only_uri(self.path)
        try:
            conn = sqlite3.connect(
                target,
                uri=self.read_only,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # we write BEGIN / COMMIT ourselves
                check_same_thread=False,  # a connection moves between threads, never shared
            )
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot open {self.label}: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        except sqlite3.Error as exc:  # reading the header failed: corrupt, or not writable here
            conn.close()
            raise unreadable(self.path, self.label, exc) from None
        return conn

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection for one operation; sqlite errors become ``HistoryError``."""
        conn = self._borrow()
        try:
            yield conn
        except sqlite3.Error as exc:
            raise self._failed(conn, exc) from None
        finally:
            self._give_back(conn)

    def _failed(self, conn: sqlite3.Connection, exc: sqlite3.Error) -> HistoryError:
        """The ``HistoryError`` for ``exc``, once what it left half-done is rolled back."""
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        return HistoryError(f"{self.label}: {exc}")

    def _borrow(self) -> sqlite3.Connection:
        with self._lock:
            self._check_process()
            while True:
                if self._closed:
                    raise HistoryError(f"{self.label} is closed.")
                if self._idle:
                    return self._idle.pop()
                if self.path is not None or self._open == 0:
                    self._open += 1
                    break
                self._available.wait()
        try:
            return self._connect()
        except BaseException:
            with self._lock:
                self._open -= 1
            raise

    def _give_back(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            if self._closed or len(self._idle) >= _MAX_IDLE or os.getpid() != self._pid:
                self._open -= 1
                conn.close()
            else:
                self._idle.append(conn)
                if self.path is None:  # only the one-connection in-memory pool waits
                    self._available.notify()

    def _check_process(self) -> None:
        """SQLite connections must not cross a fork: a child starts with fresh ones."""
        if os.getpid() != self._pid:
            if self.path is None:
                raise HistoryError("an in-memory history cannot be used from a forked process.")
            # The parent's connections: never used nor closed here (closing could disturb the
            # parent's file locks), only kept so that garbage collection does not close them.
            self._inherited.extend(self._idle)
            self._idle = []
            self._open = 0
            self._pid = os.getpid()

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction: committed on exit, rolled back on error.

        IMMEDIATE takes the write lock up front, so a concurrent writer waits in ``busy_timeout``
        instead of failing half-way with "database is locked". ``durable=False``: see module doc.
        (One generator rather than one inside ``connection``: it runs twice per attempt.)
        """
        if self.read_only:
            raise HistoryError(
                f"{self.label} is read-only for this user: it can be read, not written."
            )
        relax = not durable and self._synchronous == "FULL"
        conn = self._borrow()
        try:
            if relax:
                conn.execute("PRAGMA synchronous = NORMAL")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if relax:
                    conn.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            raise self._failed(conn, exc) from None
        finally:
            self._give_back(conn)

    def write(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        """One statement in its own transaction, durable when it returns."""
        with self.transaction() as conn:
            return conn.execute(sql, params)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of one query, read from one consistent snapshot."""
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close idle connections now and borrowed ones when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._available.notify_all()
        for conn in idle:
            conn.close()

    @property
    def closed(self) -> bool:
        return self._closed

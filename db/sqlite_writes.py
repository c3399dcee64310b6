"""One writer at a time per SQLite file, handed over at once between this process's threads.

SQLite allows a single write transaction; a writer that finds the lock taken
waits in SQLite's busy handler, which polls with sleeps growing to 100 ms.
Under many concurrent writers (votes arriving together) those sleeps, not the
work, made second-long tail latencies. A Python lock taken before a
transaction's first write and released after its commit or rollback queues the
writers instead, and wakes the next one as soon as the file is free. Other
processes still meet the busy handler, as before.
"""

import sqlite3
import threading
from collections import defaultdict

_WRITES = ("insert", "update", "delete", "replace", "create", "drop", "alter")
_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()
LOCK_TIMEOUT_S = 30.0  # then fail as SQLite would ("database is locked"), never hang


def _lock_for(database: str) -> threading.Lock:
    with _locks_guard:
        return _locks[database]


class SerializedWritesConnection(sqlite3.Connection):
    """A sqlite3 connection (pass as ``factory=``) that takes its file's write lock before writing."""

    def __init__(self, database: str, *args: object, **kwargs: object) -> None:
        super().__init__(database, *args, **kwargs)  # type: ignore[arg-type]
        self._write_lock = _lock_for(str(database))
        self._holding = False

    def cursor(self, factory: type[sqlite3.Cursor] | None = None) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory or _Cursor)

    # The connection's shortcuts run statements in C, past the cursor's methods: route them through a cursor.
    def execute(self, sql: str, parameters: object = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: object, /) -> sqlite3.Cursor:  # type: ignore[override]
        return self.cursor().executemany(sql, seq_of_parameters)

    def acquire_for_write(self, sql: str) -> None:
        if self._holding or not sql.lstrip().lower().startswith(_WRITES):
            return
        if not self._write_lock.acquire(timeout=LOCK_TIMEOUT_S):
            raise sqlite3.OperationalError("database is locked (another writer held it too long)")
        self._holding = True

    def release_write(self) -> None:
        if self._holding:
            self._holding = False
            self._write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write()


class _Cursor(sqlite3.Cursor):
    def execute(self, sql: str, parameters: object = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        self.connection.acquire_for_write(sql)  # type: ignore[attr-defined]
        return super().execute(sql, parameters)  # type: ignore[arg-type]

    def executemany(self, sql: str, seq_of_parameters: object, /) -> sqlite3.Cursor:  # type: ignore[override]
        self.connection.acquire_for_write(sql)  # type: ignore[attr-defined]
        return super().executemany(sql, seq_of_parameters)  # type: ignore[arg-type]

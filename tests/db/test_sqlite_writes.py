"""SQLite writers in one process queue on a lock instead of polling in the busy handler."""

import sqlite3
import threading
import time

import pytest

from db import sqlite_writes
from db.sqlite_writes import SerializedWritesConnection


def _connect(path):
    conn = sqlite3.connect(path, factory=SerializedWritesConnection, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


def test_second_writer_waits_for_the_first_commit_then_proceeds_at_once(tmp_path):
    path = str(tmp_path / "w.db")
    a, b = _connect(path), _connect(path)
    a.execute("CREATE TABLE t (x INTEGER)")
    a.commit()
    a.execute("INSERT INTO t VALUES (1)")  # a holds the write lock until it commits
    done = threading.Event()
    waited = []

    def second():
        t0 = time.perf_counter()
        b.execute("INSERT INTO t VALUES (2)")
        b.commit()
        waited.append(time.perf_counter() - t0)
        done.set()

    threading.Thread(target=second).start()
    assert not done.wait(0.3)  # blocked behind a's open transaction
    released = time.perf_counter()
    a.commit()
    assert done.wait(5)
    assert time.perf_counter() - released < 0.1  # handed over at once, not after a busy-handler sleep
    assert waited[0] >= 0.3
    assert sorted(r[0] for r in a.execute("SELECT x FROM t")) == [1, 2]


def test_rollback_and_close_release_the_lock_and_reads_never_take_it(tmp_path):
    path = str(tmp_path / "w.db")
    a, b = _connect(path), _connect(path)
    a.execute("CREATE TABLE t (x INTEGER)")
    a.commit()
    a.execute("INSERT INTO t VALUES (1)")
    assert b.execute("SELECT count(*) FROM t").fetchone() == (0,)  # a reader is not blocked
    a.rollback()
    b.execute("INSERT INTO t VALUES (2)")  # would block forever if rollback kept the lock
    b.close()
    a.execute("INSERT INTO t VALUES (3)")  # and close released b's
    a.commit()
    assert sorted(r[0] for r in a.execute("SELECT x FROM t")) == [3]


def test_a_writer_held_too_long_gives_database_is_locked(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_writes, "LOCK_TIMEOUT_S", 0.2)
    path = str(tmp_path / "w.db")
    a, b = _connect(path), _connect(path)
    a.execute("CREATE TABLE t (x INTEGER)")
    a.commit()
    a.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        b.execute("INSERT INTO t VALUES (2)")
    a.commit()

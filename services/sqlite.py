"""SQLite done right for several writers: WAL, foreign keys, busy timeout, BEGIN IMMEDIATE,
and a fair queue for the write lock.

With Python's default deferred transactions, a request that reads and then writes
can fail at once with "database is locked" when another worker committed in
between (busy_timeout cannot help a stale snapshot). Requests that change data
therefore open their first transaction with BEGIN IMMEDIATE: writers queue up on
the lock instead of failing. Later transactions of the same request (reading back
after the commit, rendering) are plain BEGIN. A view that reads a lot before it
writes can read first and ask for the lock only for the write (``write_next()``).

Writers queue on a file lock beside the database before BEGIN IMMEDIATE. SQLite's
own busy handler sleeps in growing steps (up to 100 ms) between tries, which
gives long, unfair tails when several workers post at once; the file lock hands
over within about a millisecond. SQLite's lock still guarantees correctness; the
file lock only orders the queue, and a writer that cannot get it within the busy
timeout goes on to SQLite's own waiting.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15000
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.split(".")[0] in {"sqlite3", "pysqlite2"}


def _busy_timeout_ms() -> int:
    if has_app_context():
        return int(current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS))
    return BUSY_TIMEOUT_MS


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, connection_record) -> None:
    if not _is_sqlite(dbapi_connection):
        return
    # Let SQLAlchemy's "begin" event below emit BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={_busy_timeout_ms()}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def write_next() -> None:
    """End this request's read transaction; the next one takes the write lock at BEGIN.

    For views that validate with reads first: the lock is then held only while writing.
    """
    from extensions import db

    db.session.commit()
    g._sqlite_mode = "immediate"


def read_first() -> None:
    """This request's first transaction only reads (see ``write_next``)."""
    g._sqlite_mode = "deferred"


@event.listens_for(Engine, "begin")
def _on_begin(conn) -> None:
    if conn.dialect.name != "sqlite":
        return
    immediate = False
    if has_request_context():
        mode = g.pop("_sqlite_mode", None)
        if mode is None:  # by default, a write request's first transaction
            immediate = request.method in _WRITE_METHODS and not g.get("_sqlite_wrote")
        else:
            immediate = mode == "immediate"
        if immediate or mode == "deferred":
            g._sqlite_wrote = True
    if not immediate:
        conn.exec_driver_sql("BEGIN")
        return
    path = conn.engine.url.database
    if _WriterQueue.acquire(path, _busy_timeout_ms() / 1000):
        conn.info["gz_queue"] = path
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except Exception:
        _on_end(conn)  # no transaction began, so no commit or rollback will release the queue
        raise


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _on_end(conn) -> None:
    path = conn.info.pop("gz_queue", None)
    if path is not None:
        _WriterQueue.release(path)


def holds_write_lock() -> bool:
    """Whether this thread holds a database's writer queue (a write transaction is open)."""
    return bool(getattr(_WriterQueue.held, "count", 0))


class _WriterQueue:
    """One file lock per database file, shared by the processes on this host."""

    _files: dict[str, int] = {}
    _threads: dict[str, threading.Lock] = {}
    _guard = threading.Lock()
    held = threading.local()

    @classmethod
    def _handles(cls, path: str) -> tuple[int, threading.Lock]:
        with cls._guard:
            if path not in cls._files:
                cls._files[path] = os.open(path + ".writers", os.O_RDWR | os.O_CREAT, 0o600)
                cls._threads[path] = threading.Lock()
            return cls._files[path], cls._threads[path]

    @classmethod
    def acquire(cls, path: str | None, timeout: float) -> bool:
        if not path or path == ":memory:" or path.startswith("file:"):
            return False
        try:
            fd, thread_lock = cls._handles(path)
        except OSError:
            return False  # e.g. a read-only directory: SQLite's own waiting still applies
        deadline = time.monotonic() + timeout
        if not thread_lock.acquire(timeout=timeout):
            return False
        delay = 0.0002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                cls.held.count = getattr(cls.held, "count", 0) + 1
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    thread_lock.release()
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 0.002)

    @classmethod
    def release(cls, path: str) -> None:
        fd, thread_lock = cls._handles(path)
        cls.held.count = max(getattr(cls.held, "count", 0) - 1, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        thread_lock.release()

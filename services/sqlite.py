"""SQLite done right for several writers: WAL, foreign keys, busy timeout, BEGIN IMMEDIATE.

With Python's default deferred transactions, a request that reads and then writes
can fail at once with "database is locked" when another worker committed in
between (busy_timeout cannot help a stale snapshot). Requests that change data
therefore open their first transaction with BEGIN IMMEDIATE: writers queue up on
the lock (waiting up to busy_timeout) instead of failing. Later transactions of
the same request (reading back after the commit, rendering) are plain BEGIN, so
the write lock is held only while the change is being made.
"""

from __future__ import annotations

from flask import current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15000
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _is_sqlite(dbapi_connection) -> bool:
    return type(dbapi_connection).__module__.split(".")[0] in {"sqlite3", "pysqlite2"}


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, connection_record) -> None:
    if not _is_sqlite(dbapi_connection):
        return
    # Let SQLAlchemy's "begin" event below emit BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    timeout = (
        int(current_app.config.get("SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)) if has_app_context() else BUSY_TIMEOUT_MS
    )
    cursor.execute(f"PRAGMA busy_timeout={timeout}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(conn) -> None:
    if conn.dialect.name != "sqlite":
        return
    if has_request_context() and request.method in _WRITE_METHODS and not g.get("_sqlite_wrote"):
        g._sqlite_wrote = True
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")

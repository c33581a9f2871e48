"""Durable background jobs in the ``jobs`` table: Webmention verification, outbound pings.

A job is queued in the same transaction as the request that needs it, so it is
never lost; a worker claims it with one atomic ``UPDATE … RETURNING`` (with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two workers never run the same job.

Workers:

- ``flask --app app work`` runs one in the foreground (``--once`` drains what is
  due and exits);
- by default each web process also runs a small thread that wakes when a request
  queues a job (``kick()``) and sleeps when the queue is empty. Set
  ``GAZETTE_INLINE_JOBS=0`` (config ``JOBS_INLINE``) when a separate ``work``
  process does the job. Tests turn the thread on only where they want it.

A handler returns a short result (stored on the job); it raises ``RetryLater``
for a transient failure (retried with backoff up to ``MAX_ATTEMPTS``) and
``JobFailed`` for a permanent one.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select, update

from extensions import db
from models import Job, utcnow

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# Five tries over about three hours (30 s, 2 min, 8 min, 32 min, 2 h): long
# enough to ride out a remote site's restart, short enough not to pester it.
MAX_ATTEMPTS = 5
BACKOFF_BASE = timedelta(seconds=30)
# A job "running" for longer than this belonged to a worker that died; run it again.
LEASE = timedelta(minutes=10)
# How often an idle inline worker looks again for retries that have come due.
POLL_SECONDS = 5.0

Handler = Callable[[dict[str, Any], int], str]
_handlers: dict[str, Handler] = {}
# Modules whose import registers handlers; loaded before the first job runs, so a
# worker process never fails a job just because nothing imported its handler yet.
HANDLER_MODULES = ("services.linkbacks",)


class RetryLater(Exception):
    """A transient failure (timeout, remote 5xx): try the job again later."""


class JobFailed(Exception):
    """A permanent failure: record it and do not retry."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register ``fn(payload, attempt) -> result`` as the handler of jobs of ``kind``."""

    def register(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn

    return register


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones."""
    return BACKOFF_BASE * (4 ** max(attempts - 1, 0))


def enqueue(kind: str, payload: dict[str, Any], run_at: datetime | None = None) -> Job:
    """Add a job to the session (the caller commits, then calls ``kick()``)."""
    now = utcnow()
    job = Job(kind=kind, payload=json.dumps(payload), state=QUEUED, run_at=run_at or now, created_at=now)
    db.session.add(job)
    db.session.flush()
    return job


def requeue_stale(now: datetime | None = None) -> int:
    """Put back jobs whose worker died mid-run; returns how many (commits)."""
    now = now or utcnow()
    result = db.session.execute(
        update(Job)
        .where(Job.state == RUNNING, Job.updated_at < now - LEASE)
        .values(state=QUEUED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount or 0


def claim(now: datetime | None = None) -> int | None:
    """Atomically take the next due job; returns its id or None (commits).

    One statement, so SQLite takes its write lock at once (no read-then-write
    upgrade to fail) and PostgreSQL skips rows another worker is claiming.
    """
    now = now or utcnow()
    next_id = (
        select(Job.id)
        .where(Job.state == QUEUED, Job.run_at <= now)
        .order_by(Job.run_at, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    job_id = db.session.execute(
        update(Job)
        .where(Job.id == next_id, Job.state == QUEUED)
        .values(state=RUNNING, attempts=Job.attempts + 1, updated_at=now)
        .returning(Job.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.commit()
    return job_id


def _base_url(app: Flask, payload: dict[str, Any]) -> str:
    return app.config.get("SITE_URL") or payload.get("base_url") or "http://localhost"


def run(app: Flask, job_id: int) -> str:
    """Run one claimed job and record its outcome; returns the new state."""
    with app.app_context():
        job = db.session.get(Job, job_id)
        if job is None:
            return DONE
        kind, attempts = job.kind, job.attempts
        try:
            payload = json.loads(job.payload or "{}")
        except ValueError:
            payload = None
        db.session.commit()
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    fn = _handlers.get(kind)
    if fn is None or not isinstance(payload, dict):
        return _finish(app, job_id, FAILED, f"unknown job kind or bad payload: {kind}")
    # Its own app context (so its own session, closed when the job ends, even
    # inside the `work` command's context), and a POST-like request context:
    # url_for() builds absolute links from the site's URL captured when the job
    # was queued, and services.sqlite opens write transactions with BEGIN
    # IMMEDIATE as it does for requests that change data.
    with app.app_context(), app.test_request_context("/", base_url=_base_url(app, payload), method="POST"):
        try:
            result = fn(payload, attempts)
        except RetryLater as exc:
            db.session.rollback()
            if attempts >= MAX_ATTEMPTS:
                return _finish(app, job_id, FAILED, f"gave up after {attempts} attempts: {exc}")
            return _finish(app, job_id, QUEUED, f"attempt {attempts}: {exc}", utcnow() + backoff(attempts))
        except JobFailed as exc:
            db.session.rollback()
            return _finish(app, job_id, FAILED, str(exc))
        except Exception as exc:  # a bug or a database hiccup: log it, retry like a transient failure
            db.session.rollback()
            log.exception("job %s (%s) raised", job_id, kind)
            if attempts >= MAX_ATTEMPTS:
                return _finish(app, job_id, FAILED, f"error: {type(exc).__name__}")
            return _finish(
                app, job_id, QUEUED, f"attempt {attempts}: error {type(exc).__name__}", utcnow() + backoff(attempts)
            )
    return _finish(app, job_id, DONE, result)


def _finish(app: Flask, job_id: int, state: str, result: str, run_at: datetime | None = None) -> str:
    with app.app_context():
        values: dict[str, Any] = {"state": state, "result": (result or "")[:2000], "updated_at": utcnow()}
        if run_at is not None:
            values["run_at"] = run_at
        db.session.execute(
            update(Job).where(Job.id == job_id).values(**values).execution_options(synchronize_session=False)
        )
        db.session.commit()
    return state


def work_once(app: Flask, max_jobs: int | None = None) -> int:
    """Run every job that is due now (or ``max_jobs`` of them); returns how many ran."""
    with app.app_context():
        requeue_stale()
    count = 0
    while max_jobs is None or count < max_jobs:
        with app.app_context():
            job_id = claim()
        if job_id is None:
            break
        run(app, job_id)
        count += 1
    return count


def seconds_until_next(app: Flask) -> float | None:
    """Seconds until the next queued job is due (0 if one is due now); None when none is queued."""
    with app.app_context():
        when = db.session.scalar(select(func.min(Job.run_at)).where(Job.state == QUEUED))
        db.session.commit()
    if when is None:
        return None
    return max((when - utcnow()).total_seconds(), 0.0)


def serve(app: Flask, interval: float = POLL_SECONDS, stop: threading.Event | None = None) -> None:
    """Process jobs until ``stop`` is set (the ``work`` command; Ctrl-C ends it)."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            work_once(app)
        except Exception:  # keep the worker alive through a database restart
            log.exception("job worker pass failed")
        stop.wait(interval)


# ---------------------------------------------------------------- in-process worker

_lock = threading.Lock()
_threads: dict[int, threading.Thread] = {}
_wakeups: dict[int, threading.Event] = {}


def inline_enabled(app: Flask) -> bool:
    """Whether web processes run jobs in a thread (off under tests unless asked for)."""
    if "JOBS_INLINE" in app.config:
        return bool(app.config["JOBS_INLINE"])
    env = os.environ.get("GAZETTE_INLINE_JOBS")
    if env is not None:
        return env.strip().lower() in {"1", "true", "yes", "on"}
    return not app.testing


def kick(app: Flask | None = None) -> None:
    """Tell this process's worker thread there is work (starting it if needed)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if not inline_enabled(app):
        return
    key = id(app)
    with _lock:
        wake = _wakeups.setdefault(key, threading.Event())
        wake.set()
        thread = _threads.get(key)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=_inline_loop, args=(app, key, wake), name="gazette-jobs", daemon=True)
            _threads[key] = thread
            thread.start()


def _inline_loop(app: Flask, key: int, wake: threading.Event) -> None:
    while True:
        wake.clear()
        try:
            work_once(app)
            pending = seconds_until_next(app)
        except Exception:
            log.exception("inline job worker pass failed")
            pending = POLL_SECONDS
        with _lock:
            # Nothing queued and nobody knocked: stop; the next kick() starts a new thread.
            if pending is None and not wake.is_set():
                _threads.pop(key, None)
                _wakeups.pop(key, None)
                return
        wake.wait(min(pending if pending is not None else POLL_SECONDS, POLL_SECONDS))


def wait_idle(app: Flask, timeout: float = 10.0) -> bool:
    """Wait until this process's worker thread has stopped (for tests and shutdown)."""
    thread = _threads.get(id(app))
    if thread is None:
        return True
    thread.join(timeout)
    return not thread.is_alive()

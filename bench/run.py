"""`make bench`: build a benchmark site, serve it with gunicorn, load it with wrk, print the figures.

Every throughput figure is also given as a ratio to ``/healthz`` measured in the
same run: that is the ceiling of this stack (gunicorn sync workers, Flask, the
middleware) on this machine, and ratios travel between machines where absolute
numbers do not. See bench/README.md for what is measured and how.

    python bench/run.py                 # the standard run (about two minutes)
    python bench/run.py --growth        # also a 1,000,000-comment site, compared with the standard one
    python bench/run.py --duration 5    # shorter runs while working on something

Only loopback addresses are loaded, and every run is bounded in time.
"""

# ruff: noqa: S603, S607 - runs this project's own tools (flask, gunicorn, wrk, git, apt-get) with fixed arguments
from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results.md"
HOST = "127.0.0.1"
# The fixed articles built by services/bench_data.py.
MID_SLUG = "bench-200-comments"
BIG_SLUG = "bench-10000-comments"
STANDARD_COMMENTS = 12_000
GROWTH_COMMENTS = 1_000_000
POSTERS = 8
# The comment form refuses a post sooner than this after it was shown (services/discussion.py).
FORM_AGE_SECONDS = 3.2

TARGETS = {  # ratio to /healthz, from the performance issue
    "front": 0.5,
    "article200": 0.4,
    "article10k": 0.3,
}
POST_MEDIAN_MS = 20
POST_P99_MS = 100
RSS_MB = 150
GROWTH_SLOWDOWN = 1.25


# ---------------------------------------------------------------- processes


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def ensure_wrk() -> str:
    """wrk from Debian's packages, installed when missing."""
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: installing Debian's package")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, check=False).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], check=True)  # a fresh machine has no package lists
        subprocess.run(install, check=True)
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk could not be installed; install it with `apt-get install wrk` and run again")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def flask(args: list[str], database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env, check=True)


def build_site(comments: int, reuse: bool) -> tuple[str, float | None]:
    """A fresh SQLite benchmark database under bench/data/; returns its URL and build seconds."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"bench-{comments}.db"
    done = path.with_suffix(".built")
    url = f"sqlite:///{path}"
    if reuse and path.exists() and done.exists():
        log(f"reusing {path.name} (built in {done.read_text().strip()} s)")
        return url, float(done.read_text())
    for leftover in (path, done, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    log(f"building {path.name}: {comments:,} comments")
    flask(["db", "upgrade"], url)
    started = time.monotonic()
    flask(["bench-data", "--comments", str(comments)], url)
    seconds = round(time.monotonic() - started, 1)
    done.write_text(f"{seconds}\n")
    return url, seconds


@dataclass
class Server:
    """gunicorn on a loopback port, stopped with its whole process group."""

    database_url: str
    workers: int
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": secrets.token_hex(32),
            # Posters arrive through a "proxy" (see post_comments); nothing else is relaxed.
            "GAZETTE_TRUSTED_PROXIES": "1",
        }
        logfile = open(DATA / "gunicorn.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(self.workers),
                "--worker-class",
                "sync",
                "--bind",
                f"{HOST}:{self.port}",
                "--log-level",
                "warning",
                # The default control socket is one path per user: other gunicorns on the machine would clash.
                "--no-control-socket",
                "app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn exited with {self.process.returncode}; see {DATA / 'gunicorn.log'}")
            try:
                if get(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit("gunicorn did not answer /healthz within 60 s")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        pids = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{self.process.pid}$", text, re.M):
                pids.append(int(status.parent.name))
        return sorted(pids)

    def peak_rss_mb(self) -> list[float]:
        """VmHWM (peak resident set) of each worker, in MB."""
        peaks = []
        for pid in self.worker_pids():
            try:
                text = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
            if found:
                peaks.append(int(found.group(1)) / 1024)
        return peaks

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read(), response
    finally:
        conn.close()


# ---------------------------------------------------------------- load


@dataclass
class Load:
    """One wrk run."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    size_kb: float = 0.0


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(binary: str, url: str, seconds: float, connections: int) -> Load:
    out = subprocess.run(
        [
            binary,
            "-t",
            "2",
            "-c",
            str(connections),
            "-d",
            f"{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))

    def pct(key: str) -> float:
        m = re.match(r"([\d.]+)(\w+)", lat.get(key, "0ms"))
        return _ms(m.group(1), m.group(2))

    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (int(timeouts.group(1)) if timeouts else 0)
    return Load(rps, pct("50"), pct("99"), total, errors)


def measure_pages(binary: str, server: Server, pages: dict[str, str], seconds: float, connections: int) -> dict:
    results = {}
    for key, path in pages.items():
        status, body, _ = get(server.port, path)
        if status != 200:
            sys.exit(f"{path} answered {status}; the benchmark needs 200")
        wrk(binary, server.base + path, 2, connections)  # warm every worker
        log(f"{key:<11} {path}")
        load = wrk(binary, server.base + path, seconds, connections)
        load.size_kb = len(body) / 1024
        results[key] = load
    return results


@dataclass
class Posting:
    latencies_ms: list[float]
    posted: int
    failed: int
    stored: int
    seconds: float
    statuses: dict[int, int]

    @property
    def lost(self) -> int:
        return self.posted - self.stored

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


_HIDDEN = re.compile(r'name="(csrf_token|issued)" type="hidden" value="([^"]*)"')


def _form(port: int, slug: str) -> tuple[dict[str, str], str]:
    """The comment form's hidden fields and the session cookie, as a browser gets them."""
    status, body, response = get(port, f"/article/{slug}")
    if status != 200:
        raise RuntimeError(f"article page answered {status}")
    fields = dict(_HIDDEN.findall(body.decode()))
    cookie = "; ".join(c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or [])
    if "csrf_token" not in fields or "issued" not in fields:
        raise RuntimeError("the comment form has no csrf_token or issued field")
    return fields, cookie


def post_comments(server: Server, slug: str, seconds: float) -> Posting:
    """POSTERS threads post real comment forms (CSRF token, time stamp, htmx) for ``seconds``.

    Each post comes from its own client address through X-Forwarded-For (the
    server trusts one proxy, as it would behind nginx), so the rate limiter and
    the flood interval, which are per address, stay on and are exercised.
    """
    forms = [_form(server.port, slug) for _ in range(POSTERS)]
    time.sleep(FORM_AGE_SECONDS)
    run_id = secrets.token_hex(3)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(10**9))
    deadline = time.monotonic() + seconds

    def poster(index: int) -> None:
        fields, cookie = forms[index]
        while time.monotonic() < deadline:
            n = next(counter)
            body = urlencode(
                {
                    **fields,
                    "parent_id": "",
                    "name": f"Bench poster {index}",
                    "email": "",
                    "website": "",
                    "body": f"Benchmark comment {run_id}-{n}: the harbour wall looks better already.",
                    "homepage": "",
                }
            )
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": cookie,
                "HX-Request": "true",
                "X-Forwarded-For": f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}",
            }
            started = time.perf_counter()
            conn = http.client.HTTPConnection(HOST, server.port, timeout=30)
            try:
                conn.request("POST", f"/article/{slug}/comments", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 0
            finally:
                conn.close()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 201:
                    latencies.append(elapsed)

    started = time.monotonic()
    with ThreadPoolExecutor(POSTERS) as pool:
        list(pool.map(poster, range(POSTERS)))
    took = time.monotonic() - started
    posted = statuses.get(201, 0)
    stored = count_posted(server.database_url, run_id)
    return Posting(latencies, posted, sum(v for k, v in statuses.items() if k != 201), stored, took, statuses)


def count_posted(database_url: str, run_id: str) -> int:
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM comments WHERE body_source LIKE ?", (f"Benchmark comment {run_id}-%",)
        ).fetchone()[0]


# ---------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def page_rows(pages: dict[str, Load], ceiling: float, labels: dict[str, str]) -> list[str]:
    rows = []
    for key, load in pages.items():
        ratio = load.rps / ceiling if ceiling else 0.0
        target = TARGETS.get(key)
        goal = f"≥ {target:.2f}×" if target else ""
        met = verdict(ratio >= target) if target else ""
        errors = f", {load.errors} errors" if load.errors else ""
        rows.append(
            f"| {labels[key]} | {load.rps:,.0f} req/s | {load.p50_ms:.1f} / {load.p99_ms:.1f} ms | "
            f"{load.size_kb:,.0f} KB{errors} | {ratio:.3f}× | {goal} | {met} |"
        )
    return rows


LABELS = {
    "healthz": "`/healthz` (ceiling)",
    "front": "front page",
    "article200": "article, 200 comments",
    "article10k": "article, 10,000 comments (first page of threads)",
    "feed10k": "that article's comments feed",
    "category": "category page",
}


def environment() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    label = (commit.stdout.strip() or "?") + (" + local changes" if dirty else "")
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · commit {label} · "
        f"{os.cpu_count()} cores, {mem_kb / 1024 / 1024:.0f} GB · Python {platform.python_version()} · "
        f"SQLite {sqlite3.sqlite_version} · load average {os.getloadavg()[0]:.2f} before the run"
    )


def report(args, env: str, built: float | None, pages: dict[str, Load], posting: Posting, rss: list[float]) -> str:
    ceiling = pages["healthz"].rps
    lines = [
        "| measure | throughput | latency p50 / p99 | size | × `/healthz` | target | |",
        "|---|---|---|---|---|---|---|",
        *page_rows(pages, ceiling, LABELS),
    ]
    median, p99 = posting.percentile(0.5), posting.percentile(0.99)
    rate = posting.posted / posting.seconds if posting.seconds else 0.0
    lines.append(
        f"| comment posting, {POSTERS} posters | {rate:,.0f} comments/s | {median:.1f} / {p99:.1f} ms | "
        f"{posting.posted:,} posted, {posting.failed} refused, {posting.lost} lost | {rate / ceiling:.3f}× | "
        f"≤ {POST_MEDIAN_MS} / {POST_P99_MS} ms, none lost | "
        f"{verdict(median <= POST_MEDIAN_MS and p99 <= POST_P99_MS and posting.lost == 0 and posting.posted > 0)} |"
    )
    peak = max(rss) if rss else float("nan")
    lines.append(
        f"| peak RSS per worker (VmHWM) | {peak:.0f} MB max | {', '.join(f'{r:.0f}' for r in rss)} MB | | | "
        f"≤ {RSS_MB} MB | {verdict(peak <= RSS_MB)} |"
    )
    head = [
        f"{env}",
        "",
        f"gunicorn {args.workers} sync workers · wrk 2 threads, {args.connections} connections, "
        f"{args.duration:g} s per URL · SQLite site of {args.comments:,} comments"
        + (f" (built in {built:g} s)" if built is not None else ""),
        "",
    ]
    if posting.failed:
        head += [f"Posting answers other than 201: {posting.statuses}", ""]
    return "\n".join(head + lines) + "\n"


def growth_report(base: dict[str, Load], big: dict[str, Load], built: float | None) -> str:
    lines = [
        f"Growth: the same pages on a {GROWTH_COMMENTS:,}-comment site"
        + (f" (built in {built:g} s)" if built is not None else "")
        + f" vs the {STANDARD_COMMENTS:,}-comment one; each figure is a ratio to its own run's `/healthz`.",
        "",
        "| page | standard site | 1M-comment site | slowdown | target | |",
        "|---|---|---|---|---|---|",
    ]
    for key in big:
        if key == "healthz":
            continue
        small_ratio = base[key].rps / base["healthz"].rps
        big_ratio = big[key].rps / big["healthz"].rps
        slowdown = small_ratio / big_ratio if big_ratio else float("inf")
        errors = f", {big[key].errors} errors or timeouts" if big[key].errors else ""
        if not big[key].requests:
            errors = ", no answer within wrk's 10 s timeout"
        lines.append(
            f"| {LABELS[key]} | {base[key].rps:,.0f} req/s ({small_ratio:.3f}×) | "
            f"{big[key].rps:,.1f} req/s ({big_ratio:.4f}×), p50 {big[key].p50_ms:,.0f} ms{errors} | "
            f"{slowdown:.2f}× | ≤ {GROWTH_SLOWDOWN}× | "
            f"{verdict(slowdown <= GROWTH_SLOWDOWN)} |"
        )
    return "\n".join(lines) + "\n"


def write_results(text: str, pages: dict[str, Load], posting: Posting, env: str) -> None:
    """bench/results.md: the latest run in full, and one line per run below it."""
    history: list[str] = []
    if RESULTS.exists():
        old = RESULTS.read_text()
        if "## History" in old:
            history = [ln for ln in old.split("## History", 1)[1].splitlines() if ln.startswith("| 20")]
    ceiling = pages["healthz"].rps
    ratios = " | ".join(f"{pages[k].rps / ceiling:.3f}" for k in ("front", "article200", "article10k"))
    history.append(
        f"| {env.split(' · ')[0]} | {env.split(' · ')[1].removeprefix('commit ')} | {ceiling:,.0f} | {ratios} | "
        f"{posting.percentile(0.5):.1f} / {posting.percentile(0.99):.1f} |"
    )
    RESULTS.write_text(
        "# Benchmark results\n\nWritten by `make bench` (bench/run.py); see bench/README.md for what is measured.\n\n"
        "## Latest run\n\n"
        + text
        + "\n## History\n\n"
        + "| run | commit | /healthz req/s | front × | article 200 × | article 10k × | posting p50 / p99 ms |\n"
        + "|---|---|---|---|---|---|---|\n"
        + "\n".join(history)
        + "\n"
    )


# ---------------------------------------------------------------- main


def standard_pages() -> dict[str, str]:
    return {
        "healthz": "/healthz",
        "front": "/",
        "article200": f"/article/{MID_SLUG}",
        "article10k": f"/article/{BIG_SLUG}",
        "feed10k": f"/article/{BIG_SLUG}/feed",
        "category": "/category/news",
    }


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per URL (default 10)")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="default 2×cores+1")
    parser.add_argument("--connections", type=int, default=0, help="wrk connections (default 2×workers)")
    parser.add_argument("--comments", type=int, default=STANDARD_COMMENTS, help="size of the standard site")
    parser.add_argument("--growth", action="store_true", help=f"also measure a {GROWTH_COMMENTS:,}-comment site")
    parser.add_argument("--reuse", action="store_true", help="reuse an already built 1M site for --growth")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    args = parser.parse_args()
    args.connections = args.connections or 2 * args.workers
    args.duration = max(1.0, min(args.duration, 60.0))  # every run stays bounded

    binary = ensure_wrk()
    env = environment()
    # Ctrl-C or a TERM from outside still stops the servers (finally blocks below).
    signal.signal(signal.SIGTERM, _interrupt)

    url, built = build_site(args.comments, reuse=False)
    server = Server(url, args.workers)
    try:
        server.start()
        log(f"gunicorn on {server.base} ({args.workers} workers, pid {server.process.pid})")
        pages = measure_pages(binary, server, standard_pages(), args.duration, args.connections)
        log(f"posting     {POSTERS} posters for {args.duration:g} s")
        posting = post_comments(server, MID_SLUG, args.duration)
        rss = server.peak_rss_mb()
    finally:
        server.stop()
    text = report(args, env, built, pages, posting, rss)

    if args.growth:
        big_url, big_built = build_site(GROWTH_COMMENTS, reuse=args.reuse)
        big_server = Server(big_url, args.workers)
        try:
            big_server.start()
            growth_pages = {
                k: v for k, v in standard_pages().items() if k in ("healthz", "front", "article200", "article10k")
            }
            big = measure_pages(binary, big_server, growth_pages, args.duration, args.connections)
        finally:
            big_server.stop()
        text += "\n" + growth_report(pages, big, big_built)

    print()
    print(text)
    if not args.no_write:
        write_results(text, pages, posting, env)
        log(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted; servers stopped")
        sys.exit(130)

#!/usr/bin/env python
"""Benchmark django_jobs against a raw psycopg baseline measured in the same run.

Usage::

    python benchmarks/run.py [--db postgres|sqlite|mariadb|both] [--size small|full] [--json PATH]
                             [--only SCENARIO[,SCENARIO...]] [--prepared]

PostgreSQL: the server named by ``DJANGO_JOBS_BENCH_DATABASE_URL`` (its user must be allowed
to create databases), or else a throwaway cluster started here and removed at the end.
Every scenario gets a fresh database, cloned from a template that ``manage.py migrate``
made (SQLite: a copy of a migrated file; MariaDB, which has no templates: a database migrated
for it, on a throwaway server, with no raw baseline). Prints a table; writes JSON to
``benchmarks/results/latest-<db>.json``, or with ``--json PATH`` to PATH (one object keyed
by database). See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from benchmarks import raw, seed  # noqa: E402

URL_ENV_VAR = "DJANGO_JOBS_BENCH_DATABASE_URL"
RESULTS = ROOT / "benchmarks" / "results"
SETTINGS = "benchmarks.settings"


@dataclass(frozen=True)
class Sizes:
    """How much work each scenario does."""

    enqueue_jobs: int
    enqueue_batch: int
    drain_jobs: int
    latency_jobs: int
    latency_rate: float
    claim_rows: tuple[int, ...]
    claims: int
    claim_limit: int = 10
    claim_spare: int = 1_000
    #: The run-mode drains: jobs of the async and thread ones, jobs of the process ones,
    #: ``runjobs --concurrency`` and ``--slots``, and how long each job waits.
    mode_jobs: int = 2_000
    mode_process_jobs: int = 100
    mode_processes: int = 2
    mode_slots: int = 50
    mode_sleep: float = 0.1


SIZES = {
    "small": Sizes(
        300, 100, 1_000, 20, 20.0, (10_000, 100_000), 40, mode_jobs=400, mode_process_jobs=20
    ),
    "full": Sizes(10_000, 1_000, 20_000, 200, 20.0, (10_000, 1_000_000, 5_000_000), 200),
}

#: The run-mode scenarios: their job (benchmarks/benchapp/jobs.py), its run mode, its body.
RUN_MODES = {
    "run_mode_async": ("bench.await_async", "async", "await sleep"),
    "run_mode_thread": ("bench.sleep_thread", "thread", "time.sleep"),
    "run_mode_process_await": ("bench.await_process", "process", "await sleep"),
    "run_mode_process_sleep": ("bench.sleep_process", "process", "time.sleep"),
}
#: ``--only`` names that stand for several scenarios.
GROUPS = {"run_modes": list(RUN_MODES)}


def rows_label(rows: int) -> str:
    """10_000 -> "10k", 5_000_000 -> "5m"."""
    return f"{rows // 1_000_000}m" if rows >= 1_000_000 else f"{rows // 1_000}k"


def scenario_ids(sizes: Sizes) -> list[str]:
    """Every scenario a run at ``sizes`` reports, in order."""
    return [
        "enqueue_one",
        "enqueue_many",
        "drain_1",
        "drain_2",
        "latency",
        *claim_ids(sizes),
        *RUN_MODES,
    ]


def claim_ids(sizes: Sizes) -> list[str]:
    return [f"claim_{rows_label(rows)}" for rows in sizes.claim_rows]


# --- databases --------------------------------------------------------------------------------


class Postgres:
    """A server on which each scenario gets ``CREATE DATABASE ... TEMPLATE`` of a migrated one."""

    engine = "postgres"
    has_baseline = True

    def __init__(self, admin_url: str, *, prepared: bool = False) -> None:
        self.admin_url = admin_url
        #: psycopg's default prepare_threshold (the raw side's) for the django_jobs side too.
        self.prepare_threshold = "5" if prepared else ""
        self.prefix = f"djbench_{os.getpid()}"
        self.template = f"{self.prefix}_template"

    def url(self, name: str) -> str:
        return urlparse(self.admin_url)._replace(path=f"/{name}").geturl()

    def _admin(self, statement: sql.Composable) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)

    def prepare(self) -> None:
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        migrate(self.env(self.url(self.template)))

    def create(self, scenario: str) -> str:
        name = f"{self.prefix}_{scenario}"
        self._admin(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self.template)
            )
        )
        return self.url(name)

    def drop(self, location: str) -> None:
        name = urlparse(location).path.lstrip("/")
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self.drop(self.url(self.template))

    def env(self, location: str) -> dict[str, str]:
        return bench_env(
            BENCH_DB_ENGINE="postgres",
            BENCH_DB_URL=location,
            BENCH_DB_PREPARE_THRESHOLD=self.prepare_threshold,
        )

    def seed(self, location: str, finished: int, queued: int) -> float:
        return seed.postgres(location, finished, queued)

    def describe(self) -> str:
        with psycopg.connect(self.admin_url) as conn:
            return "PostgreSQL " + str(conn.execute("SHOW server_version").fetchone()[0])

    def probe(self) -> dict[str, float]:
        with fresh(self, "probe") as location:
            return {"commit_ms": raw.commit_latency(location)}


class Sqlite:
    """A temporary directory in which each scenario gets a copy of a migrated file."""

    engine = "sqlite"
    has_baseline = False

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="djbench-sqlite-"))
        self.template = str(self.directory / "template.sqlite3")

    def prepare(self) -> None:
        migrate(self.env(self.template))
        conn = sqlite3.connect(self.template)  # fold the WAL into the file before copying it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()

    def create(self, scenario: str) -> str:
        path = str(self.directory / f"{scenario}.sqlite3")
        shutil.copyfile(self.template, path)
        return path

    def drop(self, location: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(location + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def env(self, location: str) -> dict[str, str]:
        return bench_env(BENCH_DB_ENGINE="sqlite", BENCH_DB_PATH=location)

    def seed(self, location: str, finished: int, queued: int) -> float:
        return seed.sqlite(location, finished, queued)

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (WAL)"

    def probe(self) -> dict[str, float]:
        return {}


class MariaDB:
    """A throwaway MariaDB server (tests/mariadbserver.py) on which each scenario gets a
    database migrated for it (MariaDB has no template databases); no raw baseline."""

    engine = "mariadb"
    has_baseline = False

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"djbench_{os.getpid()}"

    def url(self, name: str) -> str:
        return urlparse(self.admin_url)._replace(path=f"/{name}").geturl()

    def _admin(self, statement: str) -> Any:
        import MySQLdb

        parts = urlparse(self.admin_url)
        conn = MySQLdb.connect(
            host=parts.hostname, port=parts.port or 3306, user=parts.username or "root"
        )
        try:
            cursor = conn.cursor()
            cursor.execute(statement)
            return cursor.fetchall()
        finally:
            conn.close()

    def prepare(self) -> None:
        pass

    def create(self, scenario: str) -> str:
        name = f"{self.prefix}_{scenario}"
        self._admin(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        location = self.url(name)
        migrate(self.env(location))
        return location

    def drop(self, location: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {urlparse(location).path.lstrip('/')}")

    def close(self) -> None:
        pass

    def env(self, location: str) -> dict[str, str]:
        return bench_env(BENCH_DB_ENGINE="mariadb", BENCH_DB_URL=location)

    def seed(self, location: str, finished: int, queued: int) -> float:
        return seed.mariadb(location, finished, queued)

    def describe(self) -> str:
        return "MariaDB " + str(self._admin("SELECT VERSION()")[0][0])

    def probe(self) -> dict[str, float]:
        return {}


Server = Postgres | Sqlite | MariaDB


def bench_env(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_DB_")}
    env.update(variables, DJANGO_SETTINGS_MODULE=SETTINGS)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


#: Queue rows are made on first use; seeded tables get the one a first enqueue would make.
MAKE_QUEUE = "from django_jobs.models import Queue; Queue.objects.get_or_create(name='default')"


def migrate(env: dict[str, str]) -> None:
    """``manage.py migrate``, then the ``default`` Queue row."""
    run_checked([sys.executable, "-m", "django", "migrate", "--verbosity", "0"], env)
    run_checked([sys.executable, "-m", "django", "shell", "--command", MAKE_QUEUE], env)


def run_checked(command: list[str], env: dict[str, str], timeout: float = 3600) -> str:
    """Run a child process; its stdout, or RuntimeError with its output."""
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[1:])} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}{done.stderr[-4000:]}"
        )
    return done.stdout


@contextlib.contextmanager
def fresh(server: Server, scenario: str) -> Iterator[str]:
    """A fresh migrated database for one scenario, dropped afterwards."""
    location = server.create(scenario)
    try:
        yield location
    finally:
        server.drop(location)


def djbench(server: Server, location: str, *args: str) -> dict[str, Any]:
    """Run one django_jobs measurement (``benchmarks/djbench.py``) against ``location``."""
    out = run_checked([sys.executable, "-m", "benchmarks.djbench", *args], server.env(location))
    return json.loads(out.strip().splitlines()[-1])


# --- scenarios --------------------------------------------------------------------------------


def progress(message: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def scenario_enqueue_one(server: Server, sizes: Sizes) -> dict[str, Any]:
    jobs = sizes.enqueue_jobs
    with fresh(server, "enqueue_one") as location:
        result = {"django_jobs": djbench(server, location, "enqueue-one", "--jobs", str(jobs))}
    if server.has_baseline:
        with fresh(server, "enqueue_one_raw") as location:
            result["raw_insert_notify"] = raw.enqueue_one(location, jobs)
    return result


def scenario_enqueue_many(server: Server, sizes: Sizes) -> dict[str, Any]:
    jobs, batch = str(sizes.enqueue_jobs), str(sizes.enqueue_batch)
    with fresh(server, "enqueue_many") as location:
        args = ("enqueue-many", "--jobs", jobs, "--batch", batch)
        result = {"django_jobs": djbench(server, location, *args)}
    if server.has_baseline:
        with fresh(server, "enqueue_many_raw") as location:
            result["raw_unnest"] = raw.enqueue_many(
                location, sizes.enqueue_jobs, sizes.enqueue_batch
            )
    return result


def scenario_drain(server: Server, sizes: Sizes, processes: int) -> dict[str, Any]:
    jobs = sizes.drain_jobs
    with fresh(server, f"drain_{processes}") as location:
        args = ("drain", "--jobs", str(jobs), "--concurrency", str(processes))
        result = {"django_jobs": djbench(server, location, *args)}
    if server.has_baseline:
        for batch in (1, 100):
            with fresh(server, f"drain_{processes}_raw{batch}") as location:
                server.seed(location, 0, jobs)
                result[f"raw_claim_{batch}"] = raw.drain(location, processes, batch)
    return result


def scenario_latency(server: Server, sizes: Sizes) -> dict[str, Any]:
    jobs, rate = sizes.latency_jobs, sizes.latency_rate
    with fresh(server, "latency") as location:
        args = ("latency", "--jobs", str(jobs), "--rate", str(rate))
        result = {"django_jobs": djbench(server, location, *args), "rate": rate}
    if server.has_baseline:
        with fresh(server, "latency_raw") as location:
            result["raw_listen"] = raw.latency(location, jobs, rate)
    return result


def scenario_claim(server: Server, sizes: Sizes, rows: int) -> dict[str, Any]:
    # Each claim takes rows for good: seed enough queued ones for every claim of both sides.
    queued = sizes.claim_spare + 2 * (sizes.claims + 10) * sizes.claim_limit
    with fresh(server, f"claim_{rows_label(rows)}") as location:
        seconds = server.seed(location, rows, queued)
        args = ["claim", "--claims", str(sizes.claims), "--limit", str(sizes.claim_limit)]
        if server.has_baseline:
            args += ["--raw-url", location]
        measured = djbench(server, location, *args)
    return {"finished_rows": rows, "queued_rows": queued, "seed_seconds": seconds, **measured}


def scenario_run_mode(server: Server, sizes: Sizes, name: str) -> dict[str, Any]:
    """A burst drain of jobs that wait ``mode_sleep`` each, next to the bound the worker's
    processes and slots put on it: ``processes x slots / sleep`` (process mode: one job at a
    time per process, ``processes / sleep``)."""
    job, mode, _ = RUN_MODES[name]
    jobs = sizes.mode_process_jobs if mode == "process" else sizes.mode_jobs
    at_once = sizes.mode_processes * (1 if mode == "process" else sizes.mode_slots)
    with fresh(server, name) as location:
        args = ["run-mode", "--job", job, "--jobs", str(jobs), "--sleep", str(sizes.mode_sleep)]
        args += ["--processes", str(sizes.mode_processes), "--slots", str(sizes.mode_slots)]
        result = {"django_jobs": djbench(server, location, *args)}
    result["bound"] = at_once / sizes.mode_sleep
    skipped = result["django_jobs"].get("skipped")
    if skipped:
        result["skipped"] = skipped
        progress(f"{server.engine}: {name} skipped: {skipped}")
    return result


def scenarios(sizes: Sizes) -> list[tuple[str, Callable[[Server], dict[str, Any]]]]:
    plan: list[tuple[str, Callable[[Server], dict[str, Any]]]] = [
        ("enqueue_one", lambda s: scenario_enqueue_one(s, sizes)),
        ("enqueue_many", lambda s: scenario_enqueue_many(s, sizes)),
        ("drain_1", lambda s: scenario_drain(s, sizes, 1)),
        ("drain_2", lambda s: scenario_drain(s, sizes, 2)),
        ("latency", lambda s: scenario_latency(s, sizes)),
    ]
    for rows in sizes.claim_rows:
        plan.append((f"claim_{rows_label(rows)}", lambda s, r=rows: scenario_claim(s, sizes, r)))
    for name in RUN_MODES:
        plan.append((name, lambda s, n=name: scenario_run_mode(s, sizes, n)))
    return plan


def run_database(server: Server, size: str, only: list[str] | None = None) -> dict[str, Any]:
    """Every scenario (or those named in ``only``) on one database; its JSON document."""
    sizes = SIZES[size]
    started = datetime.now(timezone.utc)
    progress(f"{server.engine}: migrating the template database")
    server.prepare()
    results: dict[str, Any] = {}
    load_before, probe_before, measured = os.getloadavg(), server.probe(), package_version()
    for name, measure in scenarios(sizes):
        if only is not None and name not in only:
            continue
        progress(f"{server.engine}: {name}")
        results[name] = measure_once_more_on_failure(name, measure, server)
    document = {
        "database": server.engine,
        "size": size,
        "only": only,
        "prepare_threshold": getattr(server, "prepare_threshold", "") or None,
        "sizes": asdict(sizes),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "django_jobs": measured,
            **machine(server),
            "load_before": load_before,
            "load_after": os.getloadavg(),
            **probe_before,
            **{f"{k}_after": v for k, v in server.probe().items()},
        },
        "scenarios": results,
    }
    document["figures"] = [asdict(f) for f in figures(server.engine, sizes, results)]
    return document


def measure_once_more_on_failure(
    name: str, measure: Callable[[Server], dict[str, Any]], server: Server
) -> dict[str, Any]:
    """Run a scenario; when it fails (say, a worker stopped from outside), run it once more.

    A scenario that failed once says so in its JSON (``first_failure``).
    """
    begun = time.perf_counter()
    try:
        result = measure(server)
    except RuntimeError as exc:
        progress(f"{server.engine}: {name} failed, running it once more: {str(exc)[:300]}")
        begun = time.perf_counter()
        result = {**measure(server), "first_failure": str(exc)[:2000]}
    result["elapsed_seconds"] = round(time.perf_counter() - begun, 1)
    return result


def package_version() -> str:
    """The commit the measured django_jobs comes from (``+dirty``: uncommitted changes)."""
    try:
        commit = run_checked(["git", "rev-parse", "--short", "HEAD"], dict(os.environ)).strip()
        dirty = run_checked(["git", "status", "--porcelain", "--", "django_jobs"], dict(os.environ))
    except (OSError, RuntimeError):
        return "unknown"
    return commit + ("+dirty" if dirty.strip() else "")


def machine(server: Server) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "django": version("django"),
        "psycopg": version("psycopg"),
        "database": server.describe(),
    }


# --- the table --------------------------------------------------------------------------------


@dataclass
class Figure:
    """One row of the table: a django_jobs figure, its baseline, the ratio, the target."""

    scenario: str
    label: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


def ratio_target(figure: Figure, minimum: float) -> Figure:
    figure.target = f">= {minimum:g}x baseline"
    ratio = figure.ratio
    figure.met = None if ratio is None else ratio >= minimum
    return figure


def figures(engine: str, sizes: Sizes, results: dict[str, Any]) -> list[Figure]:
    """The table's rows; targets apply on PostgreSQL (SQLite has no baseline).

    A run with ``--only`` has the rows of the scenarios it ran; a skipped scenario has none.
    """
    pg = engine == "postgres"
    rows = []
    for needed, make in (
        (["enqueue_one"], lambda: enqueue_one_figures(results, pg)),
        (["enqueue_many"], lambda: enqueue_many_figures(sizes, results, pg)),
        (["drain_1", "drain_2"], lambda: drain_figures(results, pg)),
        (["latency"], lambda: latency_figures(results, pg)),
        (claim_ids(sizes), lambda: claim_figures(sizes, results, pg)),
    ):
        if all(name in results for name in needed):
            rows += make()
    for name in RUN_MODES:
        if name in results and "skipped" not in results[name]:
            rows.append(run_mode_figure(sizes, name, results[name]))
    return rows


def enqueue_one_figures(results: dict[str, Any], pg: bool) -> list[Figure]:
    one = results["enqueue_one"]
    row = Figure("enqueue_one", "enqueue, one call each", one["django_jobs"]["rate"], "jobs/s")
    if pg:
        row.baseline, row.baseline_label = one["raw_insert_notify"]["rate"], "INSERT+NOTIFY"
        ratio_target(row, 0.8)
    return [row]


def enqueue_many_figures(sizes: Sizes, results: dict[str, Any], pg: bool) -> list[Figure]:
    many = results["enqueue_many"]
    label = f"enqueue_many, batches of {sizes.enqueue_batch:,}"
    row = Figure("enqueue_many", label, many["django_jobs"]["rate"], "jobs/s")
    if pg:
        row.baseline, row.baseline_label = many["raw_unnest"]["rate"], "unnest INSERT"
        ratio_target(row, 0.5)
    return [row]


def drain_figures(results: dict[str, Any], pg: bool) -> list[Figure]:
    rows = []
    for processes in (1, 2):
        found = results[f"drain_{processes}"]
        label = f"drain, {processes} process{'es' if processes > 1 else ''}"
        rate = found["django_jobs"]["rate"]
        if not pg:
            rows.append(Figure(f"drain_{processes}", label, rate, "jobs/s"))
            continue
        for batch in (1, 100):
            figure = Figure(
                f"drain_{processes}",
                label,
                rate,
                "jobs/s",
                found[f"raw_claim_{batch}"]["rate"],
                f"raw {batch}/claim",
            )
            targets = {(1, 100): 0.4, (2, 100): 0.5}
            minimum = targets.get((processes, batch))
            rows.append(figure if minimum is None else ratio_target(figure, minimum))
    return rows


def latency_figures(results: dict[str, Any], pg: bool) -> list[Figure]:
    found = results["latency"]
    rows = []
    for share, limit in (("p50", 1.5), ("p95", None), ("p99", 3.0)):
        figure = Figure(
            "latency", f"pickup latency {share}", found["django_jobs"][f"{share}_ms"], "ms"
        )
        if pg:
            figure.baseline = found["raw_listen"][f"{share}_ms"]
            figure.baseline_label = "raw LISTEN"
            if limit is not None:
                figure.target, figure.met = f"<= {limit:g} ms", figure.value <= limit
        rows.append(figure)
    return rows


def run_mode_figure(sizes: Sizes, name: str, found: dict[str, Any]) -> Figure:
    """jobs/s of a run-mode drain, its baseline the bound: the ratio is the share of it."""
    _, mode, body = RUN_MODES[name]
    processes, slots, sleep = sizes.mode_processes, sizes.mode_slots, sizes.mode_sleep
    if mode == "process":
        label = f"{body} {sleep:g} s, process, {processes} processes"
        bound = f"bound {processes}/{sleep:g} s"
    else:
        label = f"{body} {sleep:g} s, {mode}, {processes}x{slots} slots"
        bound = f"bound {processes}x{slots}/{sleep:g} s"
    return Figure(name, label, found["django_jobs"]["rate"], "jobs/s", found["bound"], bound)


def claim_figures(sizes: Sizes, results: dict[str, Any], pg: bool) -> list[Figure]:
    rows = []
    for count in sizes.claim_rows:
        name = f"claim_{rows_label(count)}"
        found = results[name]
        figure = Figure(
            name, f"claim {sizes.claim_limit}, {rows_label(count)} rows", found["median_ms"], "ms"
        )
        if pg:
            figure.baseline, figure.baseline_label = found["raw_median_ms"], "raw claim"
        rows.append(figure)
    first, last = rows[0], rows[-1]
    growth = Figure(
        "claim_growth",
        f"claim time {rows_label(sizes.claim_rows[-1])} / {rows_label(sizes.claim_rows[0])}",
        last.value / first.value,
        "x",
    )
    if pg:
        growth.baseline = last.baseline / first.baseline  # type: ignore[operator]
        growth.baseline_label = "raw growth"
        growth.target, growth.met = "<= 2x", growth.value <= 2.0
    return [*rows, growth]


def number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "jobs/s":
        return f"{value:,.0f} jobs/s"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.2f} ms"


def table(document: dict[str, Any]) -> str:
    """The fixed-width table of one database's figures."""
    header = ("scenario", "django_jobs", "baseline", "", "ratio", "target", "met")
    lines = [header]
    for f in document["figures"]:
        figure = Figure(**f)
        ratio = figure.ratio
        met = "" if figure.met is None else ("yes" if figure.met else "NO")
        lines.append(
            (
                figure.label,
                number(figure.value, figure.unit),
                number(figure.baseline, figure.unit) if figure.baseline else "-",
                figure.baseline_label,
                f"{ratio:.2f}" if ratio is not None else "-",
                figure.target,
                met,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {1, 2, 4}
    box = document["machine"]
    title = f"{document['database']} ({box['database']}), size {document['size']}"
    title += f", {box['cpus']} CPUs, load {box['load_before'][0]:.1f}"
    if document.get("prepare_threshold"):
        title += f", prepare_threshold {document['prepare_threshold']}"
    if "commit_ms" in box:
        title += f", commit {box['commit_ms']:.2f} ms"
    out = [title]
    for line in lines:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))
        ]
        out.append("  ".join(cells).rstrip())
    for name, found in document["scenarios"].items():
        if "skipped" in found:
            out.append(f"{name}: skipped: {found['skipped']}")
    return "\n".join(out)


# --- command line -----------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite", "mariadb", "both"), default="both")
    parser.add_argument("--size", choices=tuple(SIZES), default="full")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="write the results here (keyed by database) instead of benchmarks/results/",
    )
    parser.add_argument(
        "--only",
        type=scenario_list,
        default=None,
        metavar="SCENARIO[,SCENARIO...]",
        help="run only these scenarios, e.g. enqueue_one,enqueue_many; run_modes: the four "
        "run-mode drains (default: all)",
    )
    parser.add_argument(
        "--prepared",
        action="store_true",
        help="PostgreSQL: run the django_jobs side with OPTIONS prepare_threshold=5 (psycopg's "
        "default, which the raw side uses; Django turns prepared statements off by default)",
    )
    options = parser.parse_args(argv)
    missing = set(options.only or ()) - set(scenario_ids(SIZES[options.size]))
    if missing:
        parser.error(f"--size {options.size} has no scenario {', '.join(sorted(missing))}")
    return options


KNOWN_SCENARIOS = {*scenario_ids(SIZES["small"]), *scenario_ids(SIZES["full"])}


def scenario_list(text: str) -> list[str]:
    """``--only``'s value: comma-separated scenario names, each one this script knows, or a
    name of ``GROUPS`` (its scenarios)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in KNOWN_SCENARIOS | set(GROUPS)]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scenario {', '.join(unknown) or repr(text)}; choose from "
            f"{', '.join(sorted(KNOWN_SCENARIOS | set(GROUPS)))}"
        )
    expanded = [one for name in names for one in GROUPS.get(name, [name])]
    return list(dict.fromkeys(expanded))


@contextlib.contextmanager
def postgres_server(prepared: bool = False) -> Iterator[Postgres]:
    """The server of DJANGO_JOBS_BENCH_DATABASE_URL, or a throwaway cluster for this run."""
    url = os.environ.get(URL_ENV_VAR)
    cluster = None
    if not url:
        from tests.pgcluster import ThrowawayCluster

        progress("starting a throwaway PostgreSQL cluster")
        cluster = ThrowawayCluster()
        cluster.start()
        url = cluster.url
    server = Postgres(url, prepared=prepared)
    try:
        yield server
    finally:
        server.close()
        if cluster is not None:
            cluster.stop()


@contextlib.contextmanager
def mariadb_server() -> Iterator[MariaDB]:
    """A throwaway MariaDB server for this run."""
    from tests.mariadbserver import ThrowawayMariaDB

    progress("starting a throwaway MariaDB server")
    with ThrowawayMariaDB() as throwaway:
        yield MariaDB(throwaway.url)


@contextlib.contextmanager
def sqlite_files() -> Iterator[Sqlite]:
    server = Sqlite()
    try:
        yield server
    finally:
        server.close()


def write(documents: dict[str, dict[str, Any]], target: Path | None) -> list[Path]:
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(documents, indent=2, default=str) + "\n")
        return [target]
    RESULTS.mkdir(parents=True, exist_ok=True)
    written = []
    for engine, document in documents.items():
        path = RESULTS / f"latest-{engine}.json"
        path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        written.append(path)
    return written


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that the cluster is stopped
    engines = ("postgres", "sqlite") if options.db == "both" else (options.db,)
    documents: dict[str, dict[str, Any]] = {}
    try:
        for engine in engines:
            opener = {
                "postgres": functools.partial(postgres_server, options.prepared),
                "mariadb": mariadb_server,
            }.get(engine, sqlite_files)
            with opener() as server:
                documents[engine] = run_database(server, options.size, options.only)
            print(table(documents[engine]) + "\n", flush=True)
    except KeyboardInterrupt:
        print("interrupted: databases dropped, cluster stopped", file=sys.stderr)
        return 130
    for path in write(documents, options.json):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

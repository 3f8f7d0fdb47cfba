#!/usr/bin/env python
"""Run the django_jobs test suite on SQLite, PostgreSQL and MariaDB.

Usage::

    python runtests.py [--db sqlite|postgres|mariadb|both|all] [pytest arguments...]

``both`` (the default) is SQLite and PostgreSQL; ``all`` adds MariaDB.

For each database, in this order: the migrations guard rail
(``makemigrations --check --dry-run django_jobs``), Django's system checks
(``check --fail-level WARNING``) and pytest. Every stage runs in a subprocess
with ``DJANGO_SETTINGS_MODULE=tests.settings`` and ``DJANGO_JOBS_TEST_DB`` set
to ``sqlite``, ``postgres`` or ``mariadb``.

PostgreSQL: if ``DJANGO_JOBS_TEST_DATABASE_URL`` is set, that server is used
(its user needs the right to create databases); otherwise a throwaway cluster
is started from the local PostgreSQL binaries (see tests/pgcluster.py) and
removed at the end, even on failure or Ctrl-C.

MariaDB: the same with ``DJANGO_JOBS_TEST_MARIADB_URL`` (``mysql://user:password@host:port/db``)
or a throwaway server from the local MariaDB binaries (see tests/mariadbserver.py).

The exit code is 0 only if every stage passed. Stdlib only.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
URL_ENV_VAR = "DJANGO_JOBS_TEST_DATABASE_URL"
MARIADB_URL_ENV_VAR = "DJANGO_JOBS_TEST_MARIADB_URL"
DB_ENV_VAR = "DJANGO_JOBS_TEST_DB"
SETTINGS_MODULE = "tests.settings"
DATABASES = ("sqlite", "postgres", "mariadb")
#: What ``--db both`` and ``--db all`` select.
GROUPS = {"both": ("sqlite", "postgres"), "all": DATABASES}
#: How long an interrupted stage may take to exit before it is killed.
CHILD_GRACE_SECONDS = 20


@dataclass
class Result:
    """Outcome of one stage for one database."""

    database: str
    stage: str
    returncode: int

    @property
    def passed(self) -> bool:
        return self.returncode == 0


def parse_args(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Split the command line into our options and the arguments for pytest."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Any other argument is passed on to pytest, e.g. -x -k retry.",
        allow_abbrev=False,  # so that pytest options are never taken for ours
    )
    parser.add_argument(
        "--db",
        choices=(*DATABASES, *GROUPS),
        default="both",
        help="database(s) to run the suite on (default: both = sqlite and postgres; "
        "all adds mariadb)",
    )
    options, pytest_args = parser.parse_known_args(argv)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    return options, pytest_args


def load_pgcluster(name: str = "pgcluster") -> types.ModuleType:
    """Import tests/<name>.py by path (``tests`` may not be importable)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tests" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def stage_env(database: str, url: str | None) -> dict[str, str]:
    """Environment for every subprocess run against ``database``."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    env[DB_ENV_VAR] = database
    pythonpath = env.get("PYTHONPATH")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), pythonpath] if pythonpath else [str(ROOT)])
    if url is not None:
        env[URL_ENV_VAR] = url
    else:
        env.pop(URL_ENV_VAR, None)
    return env


def stages(pytest_args: list[str]) -> list[tuple[str, list[str]]]:
    """The named commands run for each database, in order."""
    python = sys.executable
    return [
        (
            "makemigrations --check",
            [python, "-m", "django", "makemigrations", "--check", "--dry-run", "django_jobs"],
        ),
        ("check", [python, "-m", "django", "check", "--fail-level", "WARNING"]),
        ("pytest", [python, "-m", "pytest", *pytest_args]),
    ]


def run_database(
    database: str, url: str | None, pytest_args: list[str], results: list[Result]
) -> None:
    """Run every stage against one database, appending to ``results`` as they end.

    Later stages run even if an earlier one failed, so one run shows everything.
    """
    env = stage_env(database, url)
    for name, command in stages(pytest_args):
        banner(f"{database}: {name}")
        results.append(Result(database, name, run_command(command, env)))


def run_command(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` from the repository root and return its exit code.

    On Ctrl-C the child got the SIGINT too: give it time to clean up (pytest
    tears down its test databases) before killing it. On any other exception
    (SIGTERM) ask it to terminate first.
    """
    with subprocess.Popen(command, cwd=ROOT, env=env) as process:
        try:
            return process.wait()
        except BaseException as error:
            if not isinstance(error, KeyboardInterrupt):
                process.terminate()
            try:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=CHILD_GRACE_SECONDS)
            finally:  # also on a second Ctrl-C during the wait
                if process.poll() is None:
                    process.kill()
            raise


def run_postgres(pytest_args: list[str], results: list[Result]) -> None:
    """Run the stages on PostgreSQL: the server in the environment, or a throwaway one."""
    url = os.environ.get(URL_ENV_VAR)
    if url:
        print(f"PostgreSQL: using the server in {URL_ENV_VAR}.", flush=True)
        run_database("postgres", url, pytest_args, results)
        return
    pgcluster = load_pgcluster()
    cluster = pgcluster.ThrowawayCluster()
    try:
        cluster.start()
    except pgcluster.ClusterError as error:
        print(f"Could not start a throwaway PostgreSQL cluster:\n{error}", file=sys.stderr)
        results.append(Result("postgres", "start cluster", 1))
        return
    try:
        print(
            f"PostgreSQL: started a throwaway cluster at {cluster.url} "
            f"(set {URL_ENV_VAR} to use an existing server instead).",
            flush=True,
        )
        # The chaos test restarts the server mid-run with this command.
        os.environ["DJANGO_JOBS_TEST_PG_RESTART"] = shlex.join(cluster.restart_command())
        run_database("postgres", cluster.url, pytest_args, results)
    finally:
        os.environ.pop("DJANGO_JOBS_TEST_PG_RESTART", None)
        cluster.stop()


def run_mariadb(pytest_args: list[str], results: list[Result]) -> None:
    """Run the stages on MariaDB: the server in the environment, or a throwaway one."""
    url = os.environ.get(MARIADB_URL_ENV_VAR)
    if url:
        print(f"MariaDB: using the server in {MARIADB_URL_ENV_VAR}.", flush=True)
        run_database("mariadb", url, pytest_args, results)
        return
    mariadbserver = load_pgcluster("mariadbserver")
    server = mariadbserver.ThrowawayMariaDB()
    try:
        server.start()
    except mariadbserver.ServerError as error:
        print(f"Could not start a throwaway MariaDB server:\n{error}", file=sys.stderr)
        results.append(Result("mariadb", "start server", 1))
        return
    try:
        print(
            f"MariaDB: started a throwaway server at {server.url} "
            f"(set {MARIADB_URL_ENV_VAR} to use an existing server instead).",
            flush=True,
        )
        run_database("mariadb", server.url, pytest_args, results)
    finally:
        server.stop()


def banner(text: str) -> None:
    """Print a visible heading between stages."""
    print(f"\n===== runtests: {text} =====", flush=True)


def print_summary(results: list[Result], interrupted: bool = False) -> None:
    """Print which stage passed or failed on which database."""
    banner("summary")
    for result in results:
        outcome = "ok" if result.passed else f"FAILED (exit code {result.returncode})"
        print(f"  {result.database:<9} {result.stage:<24} {outcome}")
    failed = sum(not result.passed for result in results)
    if interrupted:
        print("Interrupted: the stages not listed did not finish.", flush=True)
    elif failed:
        print(f"{failed} stage(s) failed.", flush=True)
    else:
        print("All stages passed.", flush=True)


def _exit_on_sigterm(signum: int, frame: types.FrameType | None) -> None:
    """Leave through SystemExit so that ``finally`` blocks stop the cluster."""
    raise SystemExit(128 + signum)


def main(argv: Sequence[str]) -> int:
    """Run the selected databases' stages; return the process exit code."""
    options, pytest_args = parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    selected = GROUPS.get(options.db, (options.db,))
    results: list[Result] = []
    try:
        for database in selected:
            if database == "postgres":
                run_postgres(pytest_args, results)
            elif database == "mariadb":
                run_mariadb(pytest_args, results)
            else:
                run_database(database, None, pytest_args, results)
    except KeyboardInterrupt:
        print_summary(results, interrupted=True)
        return 130
    print_summary(results)
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

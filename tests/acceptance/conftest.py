"""Real worker processes against the test database of this test run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def worker_env(log: bool = False) -> dict[str, str]:
    """The environment of a worker process; ``log``: its log lines go to stderr."""
    env = dict(os.environ)
    if log:
        env["DJANGO_JOBS_TEST_LOG"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["DJANGO_JOBS_TEST_DB_NAME"] = str(connection.settings_dict["NAME"])
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


class Workers:
    """Starts ``manage.py runjobs`` processes and makes sure none outlives the test."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []

    @staticmethod
    def command(args: tuple[str, ...], recurring: bool) -> list[str]:
        extra = [] if recurring else ["--no-recurring"]
        return [sys.executable, "-m", "django", "runjobs", "--idle-interval", "0.1", *extra, *args]

    def start(
        self, *args: str, recurring: bool = False, log: bool = False
    ) -> subprocess.Popen[str]:
        """``log``: the worker's log lines are mixed into its standard output."""
        process = subprocess.Popen(
            self.command(args, recurring),
            cwd=ROOT,
            env=worker_env(log),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def run(
        self, *args: str, timeout: float = 120, recurring: bool = False, log: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(args, recurring),
            cwd=ROOT,
            env=worker_env(log),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def workers() -> Iterator[Workers]:
    started = Workers()
    yield started
    started.stop_all()


def wait_for(condition: Callable[[], bool], timeout: float = 60, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def restart_postgres() -> bool:
    """Restart the test server with runtests.py's command; ``False`` when there is none."""
    command = os.environ.get("DJANGO_JOBS_TEST_PG_RESTART")
    if not command:
        return False
    from asgiref.sync import sync_to_async
    from django.db import connections

    connections.close_all()
    # And those of the thread that runs the async ORM's queries (sync_to_async's own), which
    # close_all() in this thread does not reach: a later async test would get a dead one.
    asyncio.run(sync_to_async(connections.close_all)())
    # No pipes: the restarted server would inherit them and keep them open.
    subprocess.run(
        command,
        shell=True,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=120,
    )
    return True

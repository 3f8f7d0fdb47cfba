"""The example project works end to end: checks, migrations, the demo command and run.sh.

Every command runs in a subprocess with the example's own settings and a temporary SQLite
file (``EXAMPLE_DB_PATH``), whatever database the rest of the suite uses; the real
``example_project/db.sqlite3`` is never touched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example_project"
TIMEOUT = 300


def example_env(db_path: Path, **extra: str) -> dict[str, str]:
    """The environment of an example subprocess: its settings, its own SQLite file."""
    dropped = ("DJANGO_", "DATABASE_URL", "EXAMPLE_DB_PATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    paths = [str(ROOT), str(EXAMPLE), env.get("PYTHONPATH", "")]
    env.update(
        DJANGO_SETTINGS_MODULE="example_project.settings",
        EXAMPLE_DB_PATH=str(db_path),
        PYTHONPATH=os.pathsep.join(p for p in paths if p),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command in example_project/; fail the test with its output if it fails."""
    proc = subprocess.run(
        args, cwd=EXAMPLE, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert proc.returncode == 0, f"{args} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python manage.py <args>`` in the example project."""
    return run([sys.executable, "manage.py", *args], env)


def totals(output: str) -> dict[str, int]:
    """The demo's ``Totals: scheduled=1 ... succeeded=9 ...`` line as a dict."""
    match = re.search(r"^Totals: (.*)$", output, re.MULTILINE)
    assert match, f"no totals line in:\n{output}"
    return {state: int(n) for state, n in re.findall(r"(\w+)=(\d+)", match.group(1))}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return example_env(tmp_path / "example.sqlite3")


@pytest.fixture
def migrated_env(env: dict[str, str]) -> dict[str, str]:
    manage("migrate", "--no-input", env=env)
    return env


def test_manage_check__passes_at_warning_level(env):
    proc = manage("check", "--fail-level", "WARNING", env=env)
    assert "no issues" in proc.stdout


def test_manage_migrate__uses_the_temporary_database(env):
    real_db = EXAMPLE / "db.sqlite3"
    before = real_db.stat().st_mtime_ns if real_db.exists() else None
    manage("migrate", "--no-input", env=env)
    assert Path(env["EXAMPLE_DB_PATH"]).stat().st_size > 0
    assert (real_db.stat().st_mtime_ns if real_db.exists() else None) == before


def test_manage_migrate__demo_migrations_are_up_to_date(migrated_env):
    manage("makemigrations", "demo", "--check", "--dry-run", env=migrated_env)


def test_demo_command__run_reports_succeeded_and_dead_lettered_jobs(migrated_env):
    proc = manage("demo", "--run", "--count", "3", env=migrated_env)
    counts = totals(proc.stdout)
    assert counts["succeeded"] >= 7  # 3 emails, report, import, summary, digest (+ syncs)
    assert counts["failed"] >= 1  # SKU-BROKEN always fails
    assert counts["scheduled"] == 1  # the welcome email delayed by 10 minutes
    assert counts["queued"] == counts["running"] == 0
    assert re.search(r"Dead letters kept: [1-9]", proc.stdout)
    assert "job.succeeded" in proc.stderr  # the django_jobs logger prints to the console


def test_demo_command__without_run_only_enqueues(migrated_env):
    proc = manage("demo", "--count", "1", env=migrated_env)
    assert "add --run" in proc.stdout
    assert "Totals:" not in proc.stdout


def test_demo_command__same_key_returns_the_waiting_job(migrated_env):
    proc = manage("demo", "--count", "1", env=migrated_env)
    assert "returned the same job" in proc.stdout


def test_settings__database_url_selects_postgresql(env):
    url = "postgresql://shop:p%40ss@db.example.com:6543/orders"
    code = "import json, example_project.settings as s; print(json.dumps(s.DATABASES['default']))"
    proc = run([sys.executable, "-c", code], {**env, "DATABASE_URL": url})
    database = json.loads(proc.stdout)
    assert database == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "orders",
        "USER": "shop",
        "PASSWORD": "p@ss",
        "HOST": "db.example.com",
        "PORT": "6543",
    }


def test_settings__sqlite_by_default_in_wal_mode(env):
    code = "import json, example_project.settings as s; print(json.dumps(s.DATABASES['default']))"
    database = json.loads(run([sys.executable, "-c", code], env).stdout)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == env["EXAMPLE_DB_PATH"]
    assert database["OPTIONS"]["init_command"] == "PRAGMA journal_mode=WAL;"


def test_run_sh__twice_without_install_or_server(env):
    script = ["bash", str(EXAMPLE / "run.sh"), "--no-install", "--no-server"]
    script_env = {**env, "PYTHON": sys.executable}
    first = run(script, script_env)
    second = run(script, script_env)  # the superuser exists by now: still exit 0
    assert "Superuser admin already exists." in second.stdout
    for proc in (first, second):
        assert totals(proc.stdout)["succeeded"] > 0
        assert "Admin: http://127.0.0.1:8000/admin/ (admin / admin)" in proc.stdout
        assert "django_jobs worker" not in proc.stdout  # --no-server starts no worker either


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except Exception:  # the server or the tables are not there yet
            pass
        time.sleep(0.5)
    return False


def test_run_sh__starts_a_worker_next_to_the_server_and_stops_it(env, tmp_path):
    port = free_port()
    db_path = env["EXAMPLE_DB_PATH"]
    log_path = tmp_path / "run.log"

    def query(sql: str) -> list[tuple]:
        with sqlite3.connect(db_path, timeout=10) as connection:
            return connection.execute(sql).fetchall()

    def recurring_run_succeeded() -> bool:
        return bool(
            query(
                "SELECT 1 FROM django_jobs_job WHERE name = 'demo.jobs.refresh_exchange_rates' "
                "AND scheduled_for IS NOT NULL AND state = 'succeeded'"
            )
        )

    def admin_answers() -> bool:
        url = f"http://127.0.0.1:{port}/admin/login/"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200

    script = ["bash", str(EXAMPLE / "run.sh"), "--no-install"]
    script_env = {**env, "PYTHON": sys.executable, "PORT": str(port)}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            script,
            cwd=EXAMPLE,
            env=script_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, like a terminal's foreground job
        )
        try:
            up = wait_until(admin_answers, TIMEOUT) and wait_until(recurring_run_succeeded, 60)
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: reaches the server, not the worker
            try:
                code = proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                tree = subprocess.run(
                    ["ps", "-eo", "pid,ppid,pgid,stat,wchan:20,cmd"], capture_output=True, text=True
                ).stdout
                ours = [ln for ln in tree.splitlines() if "manage.py" in ln or "run.sh" in ln]
                pytest.fail(
                    f"run.sh did not stop on Ctrl-C (SIGINT: {signal.getsignal(signal.SIGINT)}):\n"
                    + log_path.read_text()[-3000:]
                    + "\n"
                    + "\n".join(ours)
                )
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                # The worker has a process group of its own: stop it too if it is still up.
                running = "SELECT pid FROM django_jobs_worker WHERE state = 'running'"
                for (pid,) in query(running):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
    output = log_path.read_text()
    assert up, output
    assert code == 130, output
    assert "django_jobs worker" in output and "concurrency: 2" in output
    # One graceful SIGTERM from the script's trap, not a second signal.
    assert "worker.stopping" in output and "signal=SIGTERM" in output, output
    assert "worker.stopping_now" not in output, output
    assert "worker.stopped" in output, output
    states = {state for (state,) in query("SELECT state FROM django_jobs_worker")}
    assert states == {"stopped"}, output


def descendants(pid: int) -> list[int]:
    """``pid``'s children, their children, ... (from /proc), living ones only."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return [p for p in found if alive(p)]


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_run_sh__signal_to_its_pid_stops_the_server_and_the_worker(env, tmp_path, sig, code):
    port = free_port()
    log_path = tmp_path / "run.log"
    script = ["bash", str(EXAMPLE / "run.sh"), "--no-install"]
    script_env = {**env, "PYTHON": sys.executable, "PORT": str(port)}

    def admin_answers() -> bool:
        url = f"http://127.0.0.1:{port}/admin/login/"
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200

    def worker_runs() -> bool:  # registered, so its signal handlers are in place
        with sqlite3.connect(env["EXAMPLE_DB_PATH"], timeout=10) as connection:
            running = "SELECT pid FROM django_jobs_worker WHERE state = 'running'"
            pids = {pid for (pid,) in connection.execute(running)}
        return bool(pids) and pids <= set(descendants(proc.pid))

    def started() -> bool:  # the server answers and the worker's processes are up
        names = " ".join(command_line(p) for p in descendants(proc.pid))
        return "runserver" in names and admin_answers() and worker_runs()

    with log_path.open("w") as log:
        # Not a terminal's foreground job this time: the signal goes to run.sh's pid alone,
        # as `kill <pid>` or a service manager sends it.
        proc = subprocess.Popen(
            script, cwd=EXAMPLE, env=script_env, stdout=log, stderr=subprocess.STDOUT
        )
        started_up = wait_until(started, TIMEOUT)
        processes = descendants(proc.pid)
        try:
            os.kill(proc.pid, sig)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                proc.poll() is None or any(alive(p) for p in processes)
            ):
                time.sleep(0.2)
            left = [f"{p} {command_line(p)}" for p in [proc.pid, *processes] if alive(p)]
        finally:
            for pid in [proc.pid, *processes]:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    if alive(pid):
                        os.kill(pid, signal.SIGKILL)
            proc.wait()
    output = log_path.read_text()
    assert started_up, output
    assert left == [], "\n".join(left) + "\n" + output[-3000:]
    assert proc.returncode == code, output
    assert "worker.stopping" in output and "signal=SIGTERM" in output, output
    assert "worker.stopped" in output, output


def run_sh_until_it_exits(env: dict[str, str], port: str) -> subprocess.CompletedProcess[str]:
    """Run ``run.sh --no-install`` on ``port``, expected to exit soon; on a timeout kill
    whatever it started, then fail."""
    script = ["bash", str(EXAMPLE / "run.sh"), "--no-install"]
    proc = subprocess.Popen(
        script,
        cwd=EXAMPLE,
        env={**env, "PYTHON": sys.executable, "PORT": port},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        for pid in [*descendants(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"run.sh with PORT={port} did not exit:\n{stdout[-2000:]}\n{stderr[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_run_sh__busy_port_fails_at_once(env):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_sh_until_it_exits(env, str(port))
    assert proc.returncode == 1, proc.stdout
    assert f"port {port} is already in use" in proc.stderr, proc.stderr
    assert "PORT=" in proc.stderr  # how to choose another one
    assert "Migrating" not in proc.stdout  # at once: before any other step
    assert not Path(env["EXAMPLE_DB_PATH"]).exists()


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_run_sh__invalid_port_refused(env, port):
    proc = run_sh_until_it_exits(env, port)
    assert proc.returncode == 2, proc.stdout
    assert f"PORT={port}" in proc.stderr and "1 to 65535" in proc.stderr, proc.stderr
    assert "Migrating" not in proc.stdout

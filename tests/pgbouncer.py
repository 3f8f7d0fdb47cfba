"""Start and stop a throwaway PgBouncer in transaction mode in front of a PostgreSQL server.

For tests/acceptance/test_pgbouncer.py. PgBouncer listens on a free TCP port of 127.0.0.1,
forwards every database name to the server (``* = host=... port=...``), trusts the users
listed in its auth file, and pools in ``transaction`` mode with fewer server connections than
clients, so that consecutive transactions of one client really run on different server
connections. It runs in the foreground as a child process and is removed on stop.

PgBouncer refuses to run as root: as root, it is run as the ``postgres`` system user through
``runuser``, in a directory under /tmp that this user owns (as tests/pgcluster.py does).

Stdlib only, no Django import.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

#: Where Debian's ``pgbouncer`` package puts the program (``/usr/sbin`` may not be on PATH).
CANDIDATES = ("pgbouncer", "/usr/sbin/pgbouncer")
SYSTEM_USER = "postgres"
#: Server connections per (database, user): fewer than the clients the tests start.
POOL_SIZE = 4


def find_pgbouncer() -> str | None:
    """The ``pgbouncer`` program, or ``None`` when it is not installed."""
    for candidate in CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BouncerError(RuntimeError):
    """PgBouncer could not be started."""


class Bouncer:
    """A PgBouncer in front of ``server_host:server_port`` for ``user``; a context manager."""

    def __init__(self, program: str, server_host: str, server_port: int, user: str) -> None:
        self.program = program
        self.server_host = server_host
        self.server_port = server_port
        self.user = user
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Bouncer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def log(self) -> str:
        """What PgBouncer logged so far."""
        assert self.directory is not None
        with contextlib.suppress(OSError):
            return (self.directory / "pgbouncer.log").read_text(errors="replace")
        return ""

    def start(self, timeout: float = 20) -> None:
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        self.directory = Path(tempfile.mkdtemp(prefix="django-jobs-pgbouncer-", dir="/tmp"))
        config = self.directory / "pgbouncer.ini"
        (self.directory / "userlist.txt").write_text(f'"{self.user}" ""\n')
        config.write_text(
            "[databases]\n"
            f"* = host={self.server_host} port={self.server_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = {self.host}\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.directory / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {POOL_SIZE}\n"
            "max_client_conn = 500\n"
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.directory / 'pgbouncer.log'}\n"
            f"pidfile = {self.directory / 'pgbouncer.pid'}\n"
        )
        command = [self.program, str(config)]
        if as_root:
            for path in (self.directory, *self.directory.iterdir()):
                shutil.chown(path, user=SYSTEM_USER, group=None)
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        self.process = subprocess.Popen(
            command,
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BouncerError(f"pgbouncer exited with {self.process.returncode}:\n{self.log}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), timeout=1),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise BouncerError(f"pgbouncer did not listen within {timeout} s:\n{self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

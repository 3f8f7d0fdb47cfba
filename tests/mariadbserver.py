"""Start and stop a throwaway MariaDB server for the test suite.

The server lives in a fresh temporary directory (data directory, socket, log), listens on
a free TCP port on 127.0.0.1 only, lets ``root`` in without a password and is deleted on
stop. Durability settings are MariaDB's defaults (``innodb_flush_log_at_trx_commit=1``) so
that tests see real commit behaviour. The server runs as the current user (as root:
``--user=root``, which ``mariadbd`` asks for explicitly).

Stdlib only and no Django import, like tests/pgcluster.py::

    with ThrowawayMariaDB() as server:
        print(server.url)  # mysql://root@127.0.0.1:PORT/django_jobs

Run ``python -m tests.mariadbserver`` to start a server by hand: it prints the URL and
keeps the server running until Ctrl-C.
"""

from __future__ import annotations

import getpass
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import types
from pathlib import Path

#: Database the URL names, created at start; Django's test runner creates
#: ``test_<name>`` next to it.
DATABASE = "django_jobs"
#: Environment variable with the URL of an existing server for the tests.
URL_ENV_VAR = "DJANGO_JOBS_TEST_MARIADB_URL"
#: Seconds to wait for the server to accept connections.
START_TIMEOUT = 60

INSTALL_HELP = f"""\
No MariaDB server binaries (mariadb-install-db and mariadbd) were found.
Either install MariaDB, for instance:
    Debian/Ubuntu: apt-get install mariadb-server
    macOS:         brew install mariadb
or point the tests at an existing server (its user must be allowed to create
databases), for instance:
    export {URL_ENV_VAR}=mysql://USER:PASSWORD@HOST:3306/django_jobs"""


class ServerError(RuntimeError):
    """The throwaway server could not be found, created, started or stopped."""


def find_binaries() -> tuple[str, str]:
    """``mariadb-install-db`` and ``mariadbd`` (on PATH or in /usr/sbin)."""
    found = []
    for name in ("mariadb-install-db", "mariadbd"):
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
        if path is None:
            raise ServerError(INSTALL_HELP)
        found.append(path)
    return found[0], found[1]


def find_free_port() -> int:
    """Ask the kernel for a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayMariaDB:
    """A temporary MariaDB server, usable as a context manager."""

    def __init__(self, max_connections: int = 300) -> None:
        self.max_connections = max_connections
        self.port: int | None = None
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerError("the server has not been started")
        return f"mysql://root@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def log_file(self) -> Path:
        assert self.directory is not None
        return self.directory / "mariadb.log"

    @property
    def socket_path(self) -> Path:
        assert self.directory is not None
        return self.directory / "mariadb.sock"

    def __enter__(self) -> ThrowawayMariaDB:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Initialise a data directory in a new temporary directory and start the server;
        on failure everything created so far is removed again."""
        if self.directory is not None:
            raise ServerError("the server was already started")
        install_db, server = find_binaries()
        self.directory = Path(tempfile.mkdtemp(prefix="django-jobs-mariadb-", dir="/tmp"))
        try:
            self._install_db(install_db)
            self.port = find_free_port()
            self._start_server(server)
            self._create_database()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (SIGTERM: a clean shutdown) and delete the temporary directory."""
        try:
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            self.process = None
            if self.directory is not None:
                shutil.rmtree(self.directory, ignore_errors=True)
                self.directory = None
            self.port = None

    # -- helpers ---------------------------------------------------------------

    def _user_option(self) -> list[str]:
        return [f"--user={getpass.getuser()}"]

    def _install_db(self, install_db: str) -> None:
        assert self.directory is not None
        command = [
            install_db,
            "--no-defaults",
            f"--datadir={self.directory / 'data'}",
            *self._user_option(),
            "--auth-root-authentication-method=normal",  # root without a password
            "--skip-test-db",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServerError(
                f"{shlex.join(command)} failed with exit code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )

    def _server_command(self, server: str) -> list[str]:
        assert self.directory is not None and self.port is not None
        return [
            server,
            "--no-defaults",
            f"--datadir={self.directory / 'data'}",
            *self._user_option(),
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.socket_path}",
            f"--pid-file={self.directory / 'mariadb.pid'}",
            f"--log-error={self.log_file}",
            f"--max-connections={self.max_connections}",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=256M",
        ]

    def _start_server(self, server: str) -> None:
        command = self._server_command(server)
        self.process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(f"{shlex.join(command)} exited:\n{self._log()}")
            if self._accepts_connections():
                return
            time.sleep(0.2)
        raise ServerError(f"MariaDB did not start within {START_TIMEOUT}s:\n{self._log()}")

    def _accepts_connections(self) -> bool:
        assert self.port is not None
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                # The server greets a client with a handshake packet once it is ready.
                return bool(sock.recv(1))
        except OSError:
            return False

    def _create_database(self) -> None:
        client = shutil.which("mariadb") or shutil.which("mysql")
        if client is None:
            raise ServerError("no `mariadb` client to create the database with")
        sql = f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        command = [client, "--no-defaults", f"--socket={self.socket_path}", "-uroot", "-e", sql]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise ServerError(f"{shlex.join(command)} failed:\n{result.stdout}{result.stderr}")

    def _log(self) -> str:
        if self.directory is None or not self.log_file.exists():
            return ""
        return self.log_file.read_text(errors="replace")


def main() -> None:
    """Start a server, print its URL and keep it running until Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda signum, frame: _exit(signum))
    try:
        with ThrowawayMariaDB() as server:
            print(server.url, flush=True)
            print(f"Use it with: export {URL_ENV_VAR}={server.url}", flush=True)
            print("Press Ctrl-C to stop the server and delete its files.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        print("\nStopped.")
    except ServerError as error:
        raise SystemExit(str(error)) from None


def _exit(signum: int) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()

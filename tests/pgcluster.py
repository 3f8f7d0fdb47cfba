"""Start and stop a throwaway PostgreSQL cluster for the test suite.

The cluster lives in a fresh temporary directory, listens on a free TCP port
on 127.0.0.1 only, trusts every local connection and is deleted on stop.
Durability settings are PostgreSQL's defaults (``fsync`` and
``synchronous_commit`` stay on) so that tests see real commit behaviour; only
``initdb`` skips its final sync, which just speeds up cluster creation.

PostgreSQL refuses to run as root. When this process is root, ``initdb`` and
``pg_ctl`` are run as the unprivileged ``postgres`` system user through
``runuser``, inside a directory under /tmp that this user owns.

Stdlib only and no Django import, so it can be used before Django is set up::

    with ThrowawayCluster() as cluster:
        print(cluster.url)  # postgresql://postgres@127.0.0.1:PORT/postgres

Run ``python -m tests.pgcluster`` to start a cluster by hand: it prints the URL
and keeps the server running until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import types
from pathlib import Path

#: Superuser created by initdb; also the name used in the connection URL.
SUPERUSER = "postgres"
#: Database the URL points at. It always exists in a new cluster; Django's
#: test runner creates its own ``test_<name>`` databases next to it.
DATABASE = "postgres"
#: System user that runs the server when this process is root.
SYSTEM_USER = "postgres"
#: Environment variable with the URL of an existing server for the tests.
URL_ENV_VAR = "DJANGO_JOBS_TEST_DATABASE_URL"

INSTALL_HELP = f"""\
No PostgreSQL server binaries (initdb and pg_ctl) were found.
Looked on PATH, in `pg_config --bindir` and in /usr/lib/postgresql/*/bin.
Either install PostgreSQL, for instance:
    Debian/Ubuntu: apt-get install postgresql
    macOS:         brew install postgresql
or point the tests at an existing server (its user must be allowed to create
databases), for instance:
    export {URL_ENV_VAR}=postgresql://USER:PASSWORD@HOST:5432/postgres"""


class ClusterError(RuntimeError):
    """The throwaway cluster could not be found, created, started or stopped."""


def _has_server_binaries(directory: Path) -> bool:
    """Tell whether ``directory`` holds both ``initdb`` and ``pg_ctl``."""
    return all(os.access(directory / name, os.X_OK) for name in ("initdb", "pg_ctl"))


def _version_key(directory: Path) -> tuple[int, ...]:
    """Sort key for /usr/lib/postgresql/<version>/bin: numeric version parts."""
    return tuple(int(part) for part in re.findall(r"\d+", directory.parent.name))


def _candidate_bindirs() -> list[Path]:
    """Directories that may hold the server binaries, best guess first."""
    candidates: list[Path] = []
    initdb = shutil.which("initdb")
    if initdb:
        # initdb on PATH may be a symlink (e.g. /usr/local/bin/initdb) with no
        # pg_ctl beside it: try the directory the link points into first.
        candidates += [Path(initdb).resolve().parent, Path(initdb).parent]
    try:
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
        if bindir:
            candidates.append(Path(bindir))
    except (OSError, subprocess.CalledProcessError):
        pass
    versioned = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    candidates += sorted(versioned, key=_version_key, reverse=True)
    return candidates


def find_bindir() -> Path:
    """Return the first directory that holds both ``initdb`` and ``pg_ctl``.

    Raises:
        ClusterError: with installation help when no such directory exists.
    """
    for directory in _candidate_bindirs():
        if _has_server_binaries(directory):
            return directory
    raise ClusterError(INSTALL_HELP)


def find_free_port() -> int:
    """Ask the kernel for a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ThrowawayCluster:
    """A temporary PostgreSQL cluster, usable as a context manager.

    Attributes:
        port: TCP port on 127.0.0.1, set by :meth:`start`.
        directory: temporary directory holding the data directory, the server
            log and the Unix socket; set by :meth:`start`, removed by :meth:`stop`.
    """

    #: Attempts at starting, each on a new port (a free port can be taken by
    #: another process between the check and the server's bind).
    start_attempts = 3

    def __init__(self, bindir: Path | None = None, max_connections: int = 200) -> None:
        """Prepare a cluster; nothing runs until :meth:`start`.

        Args:
            bindir: directory with ``initdb`` and ``pg_ctl``; found if omitted.
            max_connections: server's ``max_connections`` setting.
        """
        self.bindir = bindir
        self.max_connections = max_connections
        self.port: int | None = None
        self.directory: Path | None = None
        self._running = False

    @property
    def url(self) -> str:
        """Connection URL of the running cluster (superuser, no password)."""
        if self.port is None:
            raise ClusterError("the cluster has not been started")
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (inside :attr:`directory`)."""
        if self.directory is None:
            raise ClusterError("the cluster has not been started")
        return self.directory / "data"

    @property
    def log_file(self) -> Path:
        """The server log written by ``pg_ctl -l``."""
        return self.data_dir.parent / "postgres.log"

    def __enter__(self) -> ThrowawayCluster:
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
        """Create the cluster in a new temporary directory and start it.

        On failure everything created so far is removed again.
        """
        if self.directory is not None:
            raise ClusterError("the cluster was already started")
        if self.bindir is None:
            self.bindir = find_bindir()
        self.directory = self._make_directory()
        try:
            self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete the temporary directory.

        Safe to call more than once, and after a failed :meth:`start`.
        """
        try:
            # postmaster.pid also covers a start interrupted by Ctrl-C.
            if self._running or (self.directory and (self.data_dir / "postmaster.pid").exists()):
                self._shutdown()
        finally:
            if self.directory is not None:
                shutil.rmtree(self.directory, ignore_errors=True)
                self.directory = None
            self.port = None

    # -- helpers ---------------------------------------------------------------

    def _shutdown(self) -> None:
        """``pg_ctl stop -m fast``, falling back to ``-m immediate`` on failure."""
        try:
            self._run_pg("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data_dir))
        except ClusterError:
            with contextlib.suppress(ClusterError):
                self._run_pg("pg_ctl", "stop", "-w", "-m", "immediate", "-D", str(self.data_dir))
            raise
        finally:
            self._running = False

    @staticmethod
    def _as_root() -> bool:
        """Tell whether this process is root (POSIX only)."""
        return hasattr(os, "geteuid") and os.geteuid() == 0

    def _make_directory(self) -> Path:
        """Create the temporary directory, owned by the user running the server.

        As root the directory is created directly under /tmp (world-traversable;
        $TMPDIR might point into root's private home) and handed to
        :data:`SYSTEM_USER`.
        """
        if not self._as_root():
            return Path(tempfile.mkdtemp(prefix="django-jobs-pg-"))
        if shutil.which("runuser") is None:
            raise ClusterError(
                "PostgreSQL refuses to run as root and `runuser` was not found; "
                f"run the tests as another user or set {URL_ENV_VAR}."
            )
        directory = Path(tempfile.mkdtemp(prefix="django-jobs-pg-", dir="/tmp"))
        try:
            shutil.chown(directory, user=SYSTEM_USER, group=None)
        except LookupError:
            directory.rmdir()
            raise ClusterError(
                f"PostgreSQL refuses to run as root and there is no `{SYSTEM_USER}` "
                f"system user to run it as; create one, run the tests as another "
                f"user, or set {URL_ENV_VAR}."
            ) from None
        directory.chmod(0o755)
        return directory

    def _run_pg(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL program from :attr:`bindir`, dropping root if needed.

        Raises:
            ClusterError: with the program's output when it exits non-zero.
        """
        assert self.bindir is not None and self.directory is not None
        command = [str(self.bindir / program), *args]
        if self._as_root():
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        # cwd: a directory the server user can enter (root's home may not be).
        result = subprocess.run(
            command, cwd=self.directory, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ClusterError(
                f"{shlex.join(command)} failed with exit code {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def restart_command(self) -> list[str]:
        """The command that restarts this cluster (``pg_ctl restart -m fast``), as root or not."""
        assert self.bindir is not None
        command = [
            str(self.bindir / "pg_ctl"),
            "restart",
            "-m",
            "fast",
            "-w",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-o",
            self._server_options(),
        ]
        if self._as_root():
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        return command

    def _initdb(self) -> None:
        """Create the data directory: trusted local access, UTF8, C locale."""
        self._run_pg(
            "initdb",
            f"--pgdata={self.data_dir}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",  # skips only initdb's final fsync, not the server's
        )

    def _server_options(self) -> str:
        """Options for the postgres server, as one string for ``pg_ctl -o``.

        pg_ctl hands this string to a shell, hence the quoting.
        """
        assert self.port is not None and self.directory is not None
        options = [
            f"-p {self.port}",
            f"-k {shlex.quote(str(self.directory))}",  # Unix socket directory
            "-c listen_addresses=127.0.0.1",
            f"-c max_connections={self.max_connections}",
        ]
        return " ".join(options)

    def _start_server(self) -> None:
        """Start the server with ``pg_ctl -w``, retrying on a port clash."""
        for attempt in range(1, self.start_attempts + 1):
            self.port = find_free_port()
            try:
                self._run_pg(
                    "pg_ctl",
                    "start",
                    "-w",  # wait until the server accepts connections
                    "-t",
                    "60",
                    f"--pgdata={self.data_dir}",
                    f"--log={self.log_file}",
                    f"--options={self._server_options()}",
                )
            except ClusterError as error:
                log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
                if attempt < self.start_attempts and "already in use" in log:
                    self.log_file.unlink()
                    continue
                raise ClusterError(f"{error}\nServer log:\n{log}") from None
            self._running = True
            return


def main() -> None:
    """Start a cluster, print its URL and keep it running until Ctrl-C."""
    # Turn SIGTERM into a normal exit so the cluster is still stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: _exit_on_signal(signum))
    try:
        with ThrowawayCluster() as cluster:
            print(cluster.url, flush=True)
            print(f"Use it with: export {URL_ENV_VAR}={cluster.url}", flush=True)
            print("Press Ctrl-C to stop the server and delete its files.", flush=True)
            _wait_forever()
    except KeyboardInterrupt:
        print("\nStopped.")
    except ClusterError as error:
        raise SystemExit(str(error)) from None


def _exit_on_signal(signum: int) -> None:
    """Leave through :class:`SystemExit`, so that context managers clean up."""
    raise SystemExit(128 + signum)


def _wait_forever() -> None:
    """Block until a signal ends the process (Ctrl-C, SIGTERM)."""
    if hasattr(signal, "pause"):
        signal.pause()
    while True:  # Windows has no signal.pause
        time.sleep(3600)


if __name__ == "__main__":
    main()

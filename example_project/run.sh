#!/usr/bin/env bash
# Run the django_jobs example project on a fresh machine: install django_jobs from this
# checkout, migrate, create the superuser admin / admin, enqueue the sample jobs and run them,
# then start a worker (runjobs --concurrency 2) in the background and serve the admin at
# http://127.0.0.1:${PORT:-8000}/admin/. Ctrl-C, or SIGTERM to this script's pid, stops the
# server, then the worker.
#
#   ./run.sh                                            SQLite, db.sqlite3 next to manage.py
#   DATABASE_URL=postgresql://user:pass@host:5432/name ./run.sh          PostgreSQL
#
# Options:     --no-server   stop after the demo: start neither the worker nor the server
#              --no-install  use the Python interpreter as it is (django_jobs importable)
# Environment: PYTHON (interpreter, default python3), PORT (default 8000; a port in use
#              fails at once), EXAMPLE_DB_PATH (another SQLite file).
#
# Outside a virtualenv and not as root, everything is installed into example_project/.venv;
# inside a virtualenv, or as root (CI machines, containers), into the current interpreter.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

serve=1
install=1
for arg in "$@"; do
    case "$arg" in
        --no-server) serve=0 ;;
        --no-install) install=0 ;;
        -h | --help) sed -n '2,17p' "$HERE/run.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

PY="${PYTHON:-python3}"
PORT="${PORT:-8000}"
command -v "$PY" >/dev/null 2>&1 || PY=python

step() { printf '\n==> %s\n' "$*"; }

in_virtualenv() {
    "$PY" -c 'import sys; sys.exit(0 if sys.prefix != sys.base_prefix else 1)'
}

use_venv_if_needed() {
    if [ "$(id -u)" -eq 0 ] || in_virtualenv; then
        return 0
    fi
    if [ ! -x .venv/bin/python ]; then
        step "Creating a virtualenv in example_project/.venv"
        "$PY" -m venv .venv
    fi
    PY=.venv/bin/python
}

install_django_jobs() {
    local target=".."
    if [ -n "${DATABASE_URL:-}" ]; then
        target="..[postgres]"
    fi
    step "Installing django_jobs from this checkout ($("$PY" -c 'import sys; print(sys.executable)'))"
    PIP_ROOT_USER_ACTION=ignore "$PY" -m pip install --quiet --disable-pip-version-check -e "$target"
}

# Before anything else, so that a busy port fails at once, not after the demo.
check_port() {
    if ! [[ "$PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
        echo "run.sh: PORT=$PORT is not a port number (1 to 65535)" >&2
        exit 2
    fi
    PORT=$((10#$PORT))
    # Bind the way the development server does (SO_REUSEADDR), then let go at once.
    "$PY" - "$PORT" "$0" <<'EOF'
import errno, socket, sys
port, script = int(sys.argv[1]), sys.argv[2]
with socket.socket() as sock:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            other = port + 1 if port < 65535 else 8000
            problem = f"port {port} is already in use on 127.0.0.1"
            sys.exit(f"run.sh: {problem}; serve on another with PORT={other} {script}")
        sys.exit(f"run.sh: cannot serve on 127.0.0.1:{port}: {exc.strerror}")
EOF
}

create_superuser() {
    local out
    if out=$(DJANGO_SUPERUSER_PASSWORD=admin "$PY" manage.py createsuperuser --noinput \
        --username admin --email admin@example.com 2>&1); then
        echo "$out"
        return 0
    fi
    case "$out" in
        *"already taken"* | *"already exists"*) echo "Superuser admin already exists." ;;
        *) echo "$out" >&2; return 1 ;;
    esac
}

"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "run.sh: Python 3.10 or newer is needed (set PYTHON=/path/to/python3)" >&2
    exit 1
}
if [ "$serve" -eq 1 ]; then
    check_port
fi
if [ "$install" -eq 1 ]; then
    use_venv_if_needed
    install_django_jobs
fi

step "Migrating the database"
"$PY" manage.py migrate --no-input

step "Creating the superuser admin / admin"
create_superuser

step "Enqueueing the sample jobs and running them"
"$PY" manage.py demo --run

echo
echo "Admin: http://127.0.0.1:$PORT/admin/ (admin / admin)"
if [ "$serve" -eq 0 ]; then
    echo "(--no-server: starting neither the worker nor the server)"
    exit 0
fi

server_pid=""
worker_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
}
stop_worker() {
    if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
        # (|| true: after a hang-up the terminal is gone, and the worker must still stop.)
        printf '\nStopping the worker (SIGTERM: running jobs get up to 30 s to finish)\n' || true
        kill -TERM "$worker_pid" 2>/dev/null || true
        wait "$worker_pid" 2>/dev/null || true
    fi
}
trap 'stop_server; stop_worker' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

step "Starting the worker in the background: manage.py runjobs --concurrency 2"
# Its own process group (set -m), so that Ctrl-C reaches the server only; the EXIT trap
# then stops the worker gracefully with one SIGTERM.
set -m
"$PY" manage.py runjobs --concurrency 2 </dev/null &
worker_pid=$!
set +m

step "Starting the development server (Ctrl-C stops it, then the worker)"
# --noreload: one process, which the EXIT trap always stops (the autoreloader's two
# processes can miss a signal that comes while they start up).
# In the background, and the script waits for it: bash runs a trap only once the foreground
# command has ended, so with the server in the foreground a SIGTERM to this script would
# wait for the server forever; `wait` returns at once, and the traps stop both processes.
# (A background command ignores Ctrl-C's SIGINT: the EXIT trap stops it with SIGTERM.)
"$PY" manage.py runserver --noreload "127.0.0.1:$PORT" </dev/null &
server_pid=$!
wait "$server_pid"

#!/usr/bin/env bash
# Run the django_jobs example project on a fresh machine: install django_jobs from this
# checkout, migrate, create the superuser admin / admin, enqueue the sample jobs and run them,
# then start a worker (runjobs --concurrency 2) in the background and serve the admin at
# http://127.0.0.1:${PORT:-8000}/admin/. Ctrl-C stops the server, then the worker.
#
#   ./run.sh                                            SQLite, db.sqlite3 next to manage.py
#   DATABASE_URL=postgresql://user:pass@host:5432/name ./run.sh          PostgreSQL
#
# Options:     --no-server   stop after the demo: start neither the worker nor the server
#              --no-install  use the Python interpreter as it is (django_jobs importable)
# Environment: PYTHON (interpreter, default python3), PORT (default 8000),
#              EXAMPLE_DB_PATH (another SQLite file).
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
        -h | --help) sed -n '2,16p' "$HERE/run.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

PY="${PYTHON:-python3}"
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
echo "Admin: http://127.0.0.1:${PORT:-8000}/admin/ (admin / admin)"
if [ "$serve" -eq 0 ]; then
    echo "(--no-server: starting neither the worker nor the server)"
    exit 0
fi

worker_pid=""
stop_worker() {
    if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
        echo
        echo "Stopping the worker (SIGTERM: running jobs get up to 30 s to finish)"
        kill -TERM "$worker_pid" 2>/dev/null || true
        wait "$worker_pid" 2>/dev/null || true
    fi
}
trap stop_worker EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "Starting the worker in the background: manage.py runjobs --concurrency 2"
# Its own process group (set -m), so that Ctrl-C reaches the server only; the EXIT trap
# then stops the worker gracefully with one SIGTERM.
set -m
"$PY" manage.py runjobs --concurrency 2 </dev/null &
worker_pid=$!
set +m

step "Starting the development server (Ctrl-C stops it, then the worker)"
# --noreload: one process, which Ctrl-C always stops (the autoreloader's two processes can
# miss a Ctrl-C pressed while they start up).
"$PY" manage.py runserver --noreload "127.0.0.1:${PORT:-8000}"

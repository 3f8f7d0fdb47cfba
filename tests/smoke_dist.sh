#!/usr/bin/env bash
# Build the sdist and the wheel with `python -m build`, install each into a
# fresh venv and run a tiny project against it: check, migrate, enqueue a job,
# `runjobs --burst`, and read the job back as succeeded.
#
# Usage: bash tests/smoke_dist.sh [PYTHON]    (default: python)
# Needs the `build` package (in the dev extra) and the package index for the
# build backend and the dependencies. Everything is made in a temporary
# directory, removed at the end.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${1:-python}
work=$(mktemp -d "${TMPDIR:-/tmp}/django-dbjobs-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "smoke_dist: building the sdist and the wheel"
"$python" -m build --outdir "$work/dist" "$root" >"$work/build.log" 2>&1 || {
    cat "$work/build.log"
    exit 1
}
shopt -s nullglob
dists=("$work"/dist/django_dbjobs-*.tar.gz "$work"/dist/django_dbjobs-*.whl)
if ((${#dists[@]} != 2)); then
    echo "smoke_dist: expected one sdist and one wheel, got: ${dists[*]:-nothing}" >&2
    exit 1
fi

# The project, outside the checkout so that django_jobs can only come from the venv.
site=$work/site
mkdir -p "$site/smokeapp"
touch "$site/smokeapp/__init__.py"
cat >"$site/smokeapp/jobs.py" <<'PY'
from django_jobs import job


@job(max_retries=1)
def add(a: int, b: int) -> int:
    return a + b
PY
cat >"$site/smoke_settings.py" <<'PY'
SECRET_KEY = "smoke"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "django_jobs",
    "smokeapp",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": "db.sqlite3",
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;"},
    }
}
PY

for dist in "${dists[@]}"; do
    name=$(basename "$dist")
    echo "smoke_dist: $name"
    venv=$work/venv-$name
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "$dist"
    rm -f "$site/db.sqlite3"
    (
        cd "$site"
        export PYTHONPATH=$site DJANGO_SETTINGS_MODULE=smoke_settings
        py=$venv/bin/python
        "$py" - <<'PY'
import pathlib
import django_jobs

package = pathlib.Path(django_jobs.__file__).parent
assert "site-packages" in package.parts, f"django_jobs imported from {package}"
for part in ("py.typed", "templates/django_jobs", "static/django_jobs", "migrations/0001_initial.py"):
    assert (package / part).exists(), f"{part} is missing from the installed package"
PY
        "$py" -m django check --fail-level WARNING
        "$py" -m django migrate --verbosity 0
        "$py" -m django shell --command \
            "from smokeapp.jobs import add; print('enqueued', add.enqueue(2, 3).pk)"
        "$py" -m django runjobs --burst --concurrency 1
        "$py" -m django shell --command "
from django_jobs.models import Job
job = Job.objects.get()
assert (job.state, job.result) == ('succeeded', 5), (job.state, job.result, job.last_error)
print('job', job.pk, job.state, job.result)"
    )
done
echo "smoke_dist: the sdist and the wheel install and run jobs"

"""The test settings, plus an OpenTelemetry SDK set-up (``tests.otel``): a worker started with
``DJANGO_SETTINGS_MODULE=tests.otel_settings`` traces its jobs to a file the test reads."""

from tests.otel import install_for_worker
from tests.settings import *  # noqa: F403

install_for_worker()

import os

from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "tests.testapp"
    label = "testapp"

    def ready(self) -> None:
        # Acceptance tests that need a known batch pin the claim window of the worker
        # processes they start: how many jobs a claim takes then does not depend on how
        # fast the machine runs the jobs before it (see WorkerLoop.batch_size).
        seconds = os.environ.get("DJANGO_JOBS_TEST_BATCH_SECONDS")
        if seconds:
            from django_jobs.worker.loop import WorkerLoop

            WorkerLoop.BATCH_SECONDS = float(seconds)

"""manage.py runjobs: start a worker (a supervisor and --concurrency worker processes)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_jobs.conf import jobs_settings
from django_jobs.models import Role
from django_jobs.names import QUEUE_NAME_RE, QUEUE_NAME_RULE
from django_jobs.worker.loop import LoopOptions
from django_jobs.worker.supervisor import Supervisor


def queue_name(value: str) -> str:
    if not QUEUE_NAME_RE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a valid queue name ({QUEUE_NAME_RULE})")
    return value


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if not 0.01 <= number <= 3600:
        raise argparse.ArgumentTypeError(f"must be between 0.01 and 3600 seconds, got {value}")
    return number


def worker_name(value: str) -> str:
    if (
        not value
        or len(value) > 60
        or not value.replace("-", "").replace("_", "").replace(".", "").isalnum()
    ):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a valid worker id (1 to 60 letters, digits, '-', '_' or '.')"
        )
    return value


class Command(BaseCommand):
    help = "Run jobs: a supervisor and --concurrency worker processes claiming from the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue",
            action="append",
            type=queue_name,
            dest="queues",
            metavar="NAME",
            help="Serve this queue (repeatable). Default: every queue.",
        )
        parser.add_argument(
            "--role",
            metavar="NAME",
            help="Serve the queues of this role; edits are picked up without a restart.",
        )
        parser.add_argument(
            "--concurrency",
            type=positive_int,
            default=None,
            metavar="N",
            help="Worker processes (default: CPU count).",
        )
        parser.add_argument(
            "--slots",
            type=positive_int,
            default=None,
            metavar="N",
            help="Async and thread jobs each process runs at once (default: DJANGO_JOBS_SLOTS).",
        )
        parser.add_argument("--burst", action="store_true", help="Run what is ready, then exit 0.")
        parser.add_argument(
            "--max-jobs",
            type=positive_int,
            default=None,
            metavar="N",
            help="Exit after running N jobs.",
        )
        parser.add_argument(
            "--idle-interval",
            type=seconds,
            default=None,
            metavar="SECONDS",
            help="Seconds between polls when idle (default: DJANGO_JOBS_IDLE_INTERVAL).",
        )
        parser.add_argument(
            "--worker-id",
            type=worker_name,
            default=None,
            metavar="ID",
            help="A name for this worker, shown in the admin and the logs.",
        )
        parser.add_argument(
            "--no-recurring",
            action="store_true",
            help="Do not enqueue recurring (cron / interval) runs from this worker.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["queues"] and options["role"]:
            raise CommandError("give either --queue or --role, not both")
        if (
            options["role"]
            and not Role.objects.using(jobs_settings.DATABASE).filter(name=options["role"]).exists()
        ):
            known = ", ".join(
                Role.objects.using(jobs_settings.DATABASE).values_list("name", flat=True)
            )
            raise CommandError(f"unknown role {options['role']!r} (roles: {known or 'none yet'})")
        loop_options = LoopOptions(
            queues=sorted(set(options["queues"])) if options["queues"] else None,
            role=options["role"],
            burst=options["burst"],
            max_jobs=options["max_jobs"],
            idle_interval=options["idle_interval"] or jobs_settings.IDLE_INTERVAL,
            recurring=not options["no_recurring"],
            slots=options["slots"],
        )
        concurrency = options["concurrency"] or os.cpu_count() or 1
        supervisor = Supervisor(loop_options, concurrency, name=options["worker_id"] or "")
        supervisor.install_signals()  # a stop sent once the banner shows is a clean stop
        self.banner(supervisor, loop_options, concurrency)
        tty = self.stdout.isatty() if hasattr(self.stdout, "isatty") else False
        supervisor.run(progress_stream=self.stdout._out if tty else None)
        if supervisor.report is not None:
            self.stdout.write(supervisor.report.describe())

    def banner(self, supervisor: Supervisor, options: LoopOptions, concurrency: int) -> None:
        from django.db import connections

        settings_dict = connections[jobs_settings.DATABASE].settings_dict
        where = f"{connections[jobs_settings.DATABASE].vendor} {settings_dict.get('NAME')}"
        if settings_dict.get("HOST"):
            where += f" on {settings_dict['HOST']}"  # never the password
        served = (
            f"role {options.role}"
            if options.role
            else ", ".join(options.queues)
            if options.queues
            else "every queue"
        )
        mode = " (burst)" if options.burst else ""
        slots = options.slots or jobs_settings.SLOTS
        self.stdout.write(
            f"django_jobs worker {supervisor.worker_id}{mode}\n"
            f"  queues: {served}\n  concurrency: {concurrency}\n  slots: {slots}\n"
            f"  database: {where}\n"
        )
        self.stdout.flush()

"""``manage.py demo [--count N] [--run]``: enqueue sample jobs, optionally run them in-process."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo import jobs
from django_jobs.models import DeadLetter, Job
from django_jobs.states import State
from django_jobs.testing import run_jobs

STATES: list[str] = list(State.values)


def positive_int(text: str) -> int:
    """``--count`` values: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class Command(BaseCommand):
    help = (
        "Enqueue a mix of sample jobs from demo/jobs.py: welcome emails (one delayed by 10 "
        "minutes), an async report enqueued twice with the same key (one job), a batch of flaky "
        "inventory syncs written with one INSERT, one sync that always fails and ends as a dead "
        "letter, an import that reports progress, an atomic summary and the cron digest "
        "enqueued by name. With --run, run the ready jobs in this process (no worker needed) "
        "and print how many jobs ended in each state."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--count",
            type=positive_int,
            default=5,
            metavar="N",
            help="how many welcome emails and inventory syncs to enqueue (default: 5)",
        )
        parser.add_argument(
            "--run",
            action="store_true",
            help="then run the ready jobs in this process and print a count per state",
        )

    def handle(self, *args: Any, count: int, run: bool, **options: Any) -> None:
        enqueued = self.enqueue_samples(count)
        if run:
            self.run_and_report(enqueued)
        else:
            self.stdout.write("\nNothing has run yet: add --run to run the ready jobs here.")

    # --- enqueueing ----------------------------------------------------------------------

    def enqueue_samples(self, count: int) -> list[Job]:
        """Enqueue each kind of sample job; print and return them."""
        self.stdout.write(self.style.MIGRATE_HEADING("Enqueued:"))
        return [
            *self.enqueue_emails(count),
            *self.enqueue_keyed_report(),
            *self.enqueue_inventory(count),
            *self.enqueue_others(),
        ]

    def enqueue_emails(self, count: int) -> list[Job]:
        """Welcome emails to run now, and one delayed by ten minutes (``scheduled``)."""
        emails = [
            jobs.send_welcome_email.enqueue(f"user{i}@example.com", name=f"User {i}")
            for i in range(1, count + 1)
        ]
        self.show("welcome emails", emails)
        later = jobs.send_welcome_email.using(delay=timedelta(minutes=10))
        delayed = later.enqueue("later@example.com", name="Later")
        self.show("welcome email in 10 minutes", [delayed])
        return [*emails, delayed]

    def enqueue_keyed_report(self) -> list[Job]:
        """The same key twice: the second enqueue returns the job already waiting."""
        weekly = jobs.generate_report.using(key="report:weekly", meta={"requested_by": "demo"})
        first, second = weekly.enqueue("Weekly sales", rows=250), weekly.enqueue("Weekly sales")
        self.show("async report, key report:weekly", [first])
        outcome = "returned the same job" if second.pk == first.pk else "made a new job"
        self.stdout.write(f"  {'same key again':<34} {outcome}")
        return [first]

    def enqueue_inventory(self, count: int) -> list[Job]:
        """A batch written with one INSERT, plus one sync that always fails."""
        batch = jobs.sync_inventory.enqueue_many([{"sku": f"SKU-{i:03d}"} for i in range(count)])
        self.show("flaky inventory syncs (one INSERT)", batch)
        broken = jobs.sync_inventory.enqueue("SKU-BROKEN", failure_rate=1.0)
        self.show("sync that will dead-letter", [broken])
        return [*batch, broken]

    def enqueue_others(self) -> list[Job]:
        """Progress reporting, an atomic job and a job enqueued by its name."""
        contacts = jobs.import_contacts.enqueue(batches=5)
        self.show("import reporting progress", [contacts])
        summary = jobs.summarise_reports.using(priority=-10).enqueue()
        self.show("atomic summary (runs last)", [summary])
        digest = Job.enqueue("demo.jobs.daily_digest")
        self.show("cron digest, enqueued by name", [digest])
        return [contacts, summary, digest]

    def show(self, label: str, batch: list[Job]) -> None:
        """One line per group: label, how many, definition, state."""
        first = batch[0]
        self.stdout.write(f"  {label:<34} {len(batch):>3} x {first.name} [{first.state}]")

    # --- running -------------------------------------------------------------------------

    def run_and_report(self, enqueued: Iterable[Job]) -> None:
        """Drain the ready jobs in-process, then print the state of every sample job."""
        ids = list({job.pk for job in enqueued})
        self.stdout.write(self.style.MIGRATE_HEADING("\nRunning the ready jobs in this process..."))
        attempts = run_jobs(until_empty=True)
        self.stdout.write(f"Ran {attempts} attempts (retries included).\n")
        rows = Job.objects.filter(pk__in=ids).values_list("name", "state")
        self.stdout.write(state_table(Counter(rows)))
        dead = DeadLetter.objects.filter(job_id__in=ids).count()
        self.stdout.write(f"\nDead letters kept: {dead}")


def state_table(counts: Counter[tuple[str, str]]) -> str:
    """A text table: one row per definition, one column per state, and a totals line."""
    names = sorted({name for name, _ in counts})
    width = max(len(short(n)) for n in names) if names else 10
    lines = [f"{'definition':<{width}}  " + " ".join(f"{s:>9}" for s in STATES)]
    for name in names:
        cells = " ".join(f"{counts[(name, s)]:>9}" for s in STATES)
        lines.append(f"{short(name):<{width}}  {cells}")
    totals = {s: sum(n for (_, state), n in counts.items() if state == s) for s in STATES}
    lines.append("Totals: " + " ".join(f"{s}={n}" for s, n in totals.items()))
    return "\n".join(lines)


def short(name: str) -> str:
    """``demo.jobs.send_welcome_email`` -> ``send_welcome_email``."""
    return name.rsplit(".", 1)[-1]

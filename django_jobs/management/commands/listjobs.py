"""manage.py listjobs: the registered job definitions, grouped by app."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError
from django.db.models import Count
from django.utils import timezone

from django_jobs.conf import jobs_settings
from django_jobs.models import Job, Schedule
from django_jobs.registry import Definition, registry

COLUMNS = (
    "name",
    "version",
    "kind",
    "queue",
    "schedule",
    "next_run",
    "retries",
    "timeout",
    "run_mode",
    "dead_letter",
)


class Command(BaseCommand):
    help = (
        "List the registered job definitions grouped by app "
        "(--stats adds counts from the database)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format",
            choices=("table", "json"),
            default="table",
            help="Output format (default: table).",
        )
        parser.add_argument(
            "--stats",
            action="store_true",
            help="Add job counts per state and queue from the database.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        stored = stored_next_runs()
        rows = sorted(
            (describe(d, stored) for d in registry.all()), key=lambda r: (r["app"], r["name"])
        )
        stats = job_stats() if options["stats"] else None
        if stats is not None:
            for row in rows:
                row["jobs"] = stats["by_definition"].get((row["name"], row["version"]), {})
        if options["format"] == "json":
            payload: dict[str, Any] = {"definitions": rows}
            if stats is not None:
                payload["queues"] = stats["by_queue"]
            self.stdout.write(json.dumps(payload, indent=2, default=str))
            return
        self.write_table(rows, stats)

    def write_table(self, rows: list[dict[str, Any]], stats: dict[str, Any] | None) -> None:
        if not rows:
            self.stdout.write(
                "No job definitions are registered (add a jobs.py to an installed app)."
            )
        columns = COLUMNS + (("jobs",) if stats is not None else ())
        cells = [[_cell(row.get(c)) for c in columns] for row in rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        current_app = None
        for row, line in zip(rows, cells):
            if row["app"] != current_app:
                current_app = row["app"]
                self.stdout.write(self.style.MIGRATE_HEADING(f"\n{current_app}"))
                self.stdout.write("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths)))
            self.stdout.write("  " + "  ".join(v.ljust(w) for v, w in zip(line, widths)))
        if stats is not None:
            self.stdout.write(self.style.MIGRATE_HEADING("\nqueues"))
            for queue, counts in sorted(stats["by_queue"].items()):
                self.stdout.write(f"  {queue}: {_cell(counts)}")


def describe(definition: Definition, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """One definition as plain values (the JSON output uses exactly this)."""
    app = apps.get_containing_app_config(definition.module)
    return {
        "app": app.label if app else definition.module,
        "name": definition.name,
        "version": definition.version,
        "kind": definition.kind,
        "queue": definition.queue_name,
        "schedule": schedule_text(definition),
        "next_run": next_run(definition, stored or {}),
        "retries": definition.retries,
        "timeout": definition.timeout,
        "run_mode": definition.effective_run_mode,
        "durable": definition.durable,
        "dead_letter": definition.dead_letter,
    }


def schedule_text(definition: Definition) -> str | None:
    if definition.cron is not None:
        return f"cron {definition.cron.expression} ({definition.cron.timezone})"
    if definition.interval is not None:
        return "every loop" if definition.interval == 0 else f"every {definition.interval:g} s"
    return None


def stored_next_runs() -> dict[str, Any]:
    """``{definition name: next_run_at}`` of the synced schedules; empty without a database."""
    try:
        rows = Schedule.objects.using(jobs_settings.DATABASE).values_list("name", "next_run_at")
        return {name: at for name, at in rows if at is not None}
    except DatabaseError:  # not migrated yet: listing definitions needs no database
        return {}


def next_run(definition: Definition, stored: dict[str, Any]) -> str | None:
    """The stored next run of its schedule, else the next cron tick from now."""
    if not definition.is_recurring:
        return None
    if definition.name in stored:
        return stored[definition.name].isoformat()
    if definition.cron is not None:
        return definition.cron.next_after(timezone.now()).isoformat()
    return None


def job_stats() -> dict[str, Any]:
    """Counts per definition version and state, and per queue and state (one GROUP BY each)."""
    jobs = Job.objects.using(jobs_settings.DATABASE)
    by_definition: dict[tuple[str, int], dict[str, int]] = {}
    for row in jobs.values("name", "version", "state").annotate(n=Count("pk")).order_by():
        by_definition.setdefault((row["name"], row["version"]), {})[row["state"]] = row["n"]
    by_queue: dict[str, dict[str, int]] = {}
    for row in jobs.values("queue", "state").annotate(n=Count("pk")).order_by():
        by_queue.setdefault(row["queue"], {})[row["state"]] = row["n"]
    return {"by_definition": by_definition, "by_queue": by_queue}


def _cell(value: Any) -> str:
    if value is None or value == {}:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)

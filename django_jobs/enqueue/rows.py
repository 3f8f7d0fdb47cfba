"""Unsaved ``Job`` rows of one enqueue call: a template of the values they share, and one
instance per row made from a copy of it."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from django_jobs.models import Job


def row_template(**values: Any) -> dict[str, Any]:
    """Every field's value by attribute name: ``values``, the model's defaults for the rest."""
    return {**_defaults(), **values}


@functools.cache
def _defaults() -> dict[str, Any]:
    """Constant defaults (NULL, 0, ""); fields with a callable default are always given."""
    return {
        f.attname: None if callable(f.default) else f.get_default()
        for f in Job._meta.concrete_fields
    }


def unsaved_jobs(
    template: dict[str, Any], names: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[Job]:
    """One unsaved ``Job`` per row: ``template`` with the row's values for ``names``.

    Each instance gets what ``Job(**values)`` gives it (the field values in field order and
    a new ``ModelState``: adding, no database) without running the model's constructor per
    row, which costs about ten times more. When a receiver listens to ``pre_init`` or
    ``post_init`` for ``Job``, the constructor runs, so that it sends them as always.
    """
    if pre_init.has_listeners(Job) or post_init.has_listeners(Job):
        return [Job(**{**template, **dict(zip(names, row))}) for row in rows]
    jobs = []
    for row in rows:
        job = Job.__new__(Job)
        values = template.copy()
        values.update(zip(names, row))
        values["_state"] = ModelState()
        job.__dict__ = values
        jobs.append(job)
    return jobs

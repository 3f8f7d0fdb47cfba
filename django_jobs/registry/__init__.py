"""Job definitions: ``(name, version) -> callable + options``, ``@job`` and ``RecurringJob``.

One idea per module:

* ``definition``: ``Definition``, a registered job, and what it derives from its options;
* ``store``: ``Registry`` and ``registry``, every definition this process knows;
* ``validate``: the checks of a definition, by the option table (``django_jobs.option_table``);
* ``decorator``: ``@job`` and ``InvalidDefinition``;
* ``recurring``: ``RecurringJob``.

Import the names from here: ``from django_jobs.registry import registry, job, Definition``.
"""

from django_jobs.registry.decorator import InvalidDefinition, job
from django_jobs.registry.definition import Definition, default_name
from django_jobs.registry.recurring import RecurringJob
from django_jobs.registry.store import Registry, registry

__all__ = [
    "Definition",
    "InvalidDefinition",
    "RecurringJob",
    "Registry",
    "default_name",
    "job",
    "registry",
]

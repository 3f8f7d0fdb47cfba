"""``@job``: a function registered as a definition, every option checked at import.

While discovery collects errors (``registry.collecting_errors``), a bad definition is kept
for ``manage.py check`` and the function is returned as an ``InvalidDefinition``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django_jobs import options as opt
from django_jobs.exceptions import JobDefinitionError
from django_jobs.registry.definition import Definition, default_name
from django_jobs.registry.store import registry
from django_jobs.registry.validate import validated


def job(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    version: int = 1,
    **options: Any,
) -> Any:
    """Register a function as a job definition: ``@job`` or ``@job(queue="reports", ...)``.

    Every option is checked here, at import; a bad one raises ``JobDefinitionError`` naming
    the definition and the option. See docs/reference/definitions.md for the options.
    """

    def register(fn: Callable[..., Any]) -> Definition | InvalidDefinition:
        try:
            def_name = opt.definition_name(name if name is not None else default_name(fn))
            clean = validated(def_name, version, fn, options)
            definition = Definition(name=def_name, version=version, func=fn, **clean)
            functools.update_wrapper(definition, fn, updated=())  # type: ignore[arg-type]
            return registry.register(definition)
        except JobDefinitionError as exc:
            if not registry.keep_error(getattr(fn, "__module__", "") or "?", exc):
                raise
            return InvalidDefinition(fn, exc)

    return register if func is None else register(func)


class InvalidDefinition:
    """Stands in for a ``@job`` function whose definition is kept in ``registry.errors``.

    Calling it runs the function; enqueueing raises the definition's error.
    """

    def __init__(self, func: Callable[..., Any], error: JobDefinitionError) -> None:
        self.func, self.error = func, error
        functools.update_wrapper(self, func, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise JobDefinitionError(f"{self.error} (not registered)", check_id=self.error.check_id)

    using = enqueue = enqueue_many = _refuse

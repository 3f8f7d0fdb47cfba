"""The registry: every definition this process knows, by ``(name, version)``.

``registry`` is the one instance; ``@job`` and ``RecurringJob`` add to it, the worker, the
enqueue service, the API and the admin look definitions up in it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from django_jobs.exceptions import JobDefinitionError, UnknownJob
from django_jobs.registry.definition import Definition


class Registry:
    """All definitions known to this process, by ``(name, version)``."""

    def __init__(self) -> None:
        self._definitions: dict[tuple[str, int], Definition] = {}
        #: Errors met while importing ``jobs.py`` modules: ``(module, JobDefinitionError)``.
        self.errors: list[tuple[str, JobDefinitionError]] = []
        self._collecting = False

    @contextlib.contextmanager
    def collecting_errors(self) -> Iterator[None]:
        """While discovery imports a ``jobs.py``, a bad definition is kept in ``errors`` (for
        ``manage.py check``) instead of raised, so the module's other definitions register."""
        previous, self._collecting = self._collecting, True
        try:
            yield
        finally:
            self._collecting = previous

    def keep_error(self, module: str, exc: JobDefinitionError) -> bool:
        """Keep ``exc`` when errors are being collected; ``False`` when it must be raised."""
        if self._collecting:
            self.errors.append((module, exc))
        return self._collecting

    def register(self, definition: Definition) -> Definition:
        ident = (definition.name, definition.version)
        existing = self._definitions.get(ident)
        if existing is not None and existing.func is not definition.func:
            if _same_source(existing.func, definition.func):
                # The same module imported twice (say, by path and as __main__): keep one.
                self._definitions[ident] = definition
                return definition
            raise JobDefinitionError(
                f"job definition {definition.name!r} version {definition.version} is registered "
                f"twice: by {_where(existing.func)} and by {_where(definition.func)}",
                check_id="django_jobs.E011",
            )
        self._definitions[ident] = definition
        return definition

    def unregister(self, name: str, version: int | None = None) -> None:
        for ident in [i for i in self._definitions if i[0] == name and version in (None, i[1])]:
            del self._definitions[ident]

    def find(self, name: str, version: int | None = None) -> Definition | None:
        if version is not None:
            return self._definitions.get((name, version))
        versions = [d for (n, _), d in self._definitions.items() if n == name]
        return max(versions, key=lambda d: d.version) if versions else None

    def get(self, name: str, version: int | None = None) -> Definition:
        found = self.find(name, version) if isinstance(name, str) else None
        if found is None:
            which = f"{name!r}" if version is None else f"{name!r} version {version}"
            known = self.versions(name) if isinstance(name, str) else []
            hint = f" (registered versions: {known})" if known else ""
            raise UnknownJob(f"no job definition {which} is registered{hint}")
        return found

    def versions(self, name: str) -> list[int]:
        return sorted(v for (n, v) in self._definitions if n == name)

    def all(self) -> list[Definition]:
        return sorted(self._definitions.values(), key=lambda d: (d.name, d.version))

    def __contains__(self, ident: object) -> bool:
        return ident in self._definitions


def _where(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', func)}"


def _same_source(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    code_a, code_b = getattr(a, "__code__", None), getattr(b, "__code__", None)
    return bool(
        code_a
        and code_b
        and code_a.co_filename == code_b.co_filename
        and code_a.co_firstlineno == code_b.co_firstlineno
    )


registry = Registry()

"""The cursor of the enqueue INSERT: prepared by the server when the project allows it.

Django turns psycopg's prepared statements off (``prepare_threshold=None``) unless
``OPTIONS["prepare_threshold"]`` is set, so that connection poolers in transaction mode keep
working; Django's default cursor then binds parameters on the client and the server parses
and plans every execution. With ``DJANGO_JOBS_PREPARED_STATEMENTS`` on (the default), the
enqueue INSERT is prepared on its first execution on a connection instead, whatever the
connection's ``prepare_threshold``; the project's other queries are left as they were.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from django_jobs.conf import jobs_settings

#: The ``prepare_threshold`` a preparing execution runs under when the connection's is None:
#: any number turns psycopg's statement cache on; ``prepare=True`` prepares at once. The
#: cache keeps at most ``prepared_max`` (psycopg's default 100) statements per connection,
#: deallocating the least recently used: one per INSERT shape in use, so a bounded number.
_CACHE_ON = 1_000_000


def statement_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor for a hot statement of ours: prepared when the project allows it.

    * ``DJANGO_JOBS_PREPARED_STATEMENTS`` on (psycopg 3): a server-binding cursor whose
      statements are prepared at once (``execute(..., prepare=True)``);
    * off, with ``OPTIONS["prepare_threshold"]`` set: a server-binding cursor, which psycopg
      prepares after that many executions;
    * otherwise (and with psycopg 2): Django's own cursor, bound on the client.

    Either way Django's cursor wrapper is kept, on the connection Django's transactions run
    on: query logging, ``execute_wrapper`` hooks, error translation, ``atomic()`` and
    ``on_commit`` apply as to any query.
    """
    cursor = connection.cursor()  # connects, checks health and thread sharing
    raw = connection.connection
    if not hasattr(raw, "prepare_threshold"):  # psycopg2
        return cursor
    prepare = bool(jobs_settings.PREPARED_STATEMENTS)
    if not prepare and raw.prepare_threshold is None:  # Django's default
        return cursor
    cursor.close()
    logged = connection.queries_logged
    server_binding = _cursor_class(prepare, logged)(raw)
    if logged:
        return connection.make_debug_cursor(server_binding)
    return connection.make_cursor(server_binding)


@functools.cache
def _cursor_class(prepare: bool, logged: bool) -> type:
    """psycopg's server-binding cursor; with ``prepare``, one that prepares what it runs;
    with ``logged``, one that keeps what it ran for Django's query log."""
    import psycopg

    class StatementCursor(psycopg.Cursor):
        """With ``prepare``, each statement is prepared on its first execution on the
        connection. psycopg honours ``prepare=True`` only while the connection's
        ``prepare_threshold`` is not None (None turns its statement cache off); under
        Django's None it is raised for this one execution, so that no other statement of
        the connection is prepared."""

        def execute(self, query: Any, params: Any = None, **options: Any) -> Any:
            raw = self.connection
            threshold = raw.prepare_threshold
            if prepare and threshold is None:
                raw.prepare_threshold = _CACHE_ON
            try:
                result = super().execute(query, params, prepare=prepare or None, **options)
            finally:
                if prepare and threshold is None:
                    raw.prepare_threshold = None
            if logged and getattr(self, "_query", "") is None:  # none kept for a prepared run
                # What Django logs; psycopg's own attributes, so only where they exist.
                with contextlib.suppress(Exception):
                    self._query = self._convert_query(query, params)
            return result

    return StatementCursor

"""Counting rows without counting millions: capped counts and PostgreSQL planner estimates.

A page load never runs ``COUNT(*)`` over a whole job table. Instead:

* a *capped count* counts at most ``CAP + 1`` rows
  (``SELECT COUNT(*) FROM (SELECT ... LIMIT 10001)``): exact for small results, "more than
  10,000" otherwise;
* on PostgreSQL, an unfiltered count above the cap is the planner's estimate (``EXPLAIN``),
  which reads the table statistics (``reltuples`` scaled by the current number of pages).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.formats import number_format

#: Rows counted exactly before a count becomes "more than CAP".
CAP = 10_000


class ApproximateCount(int):
    """A row count that knows whether it is exact, an estimate or a lower bound.

    It is an ``int`` (Django's paginator and admin templates do arithmetic with it) whose
    text says ``"about 1,000,000"`` or ``"more than 10,000"`` when it is not exact.
    """

    kind: str

    def __new__(cls, value: int, kind: str = "exact") -> ApproximateCount:
        count = super().__new__(cls, value)
        count.kind = kind
        return count

    @property
    def is_exact(self) -> bool:
        return self.kind == "exact"

    def __str__(self) -> str:
        if self.kind == "estimate":
            return f"about {number_format(int(self), force_grouping=True)}"
        if self.kind == "more":
            return f"more than {number_format(int(self) - 1, force_grouping=True)}"
        return str(int(self))

    def __reduce__(self) -> Any:
        return (ApproximateCount, (int(self), self.kind))


def capped_count(queryset: QuerySet[Any], cap: int | None = None) -> ApproximateCount:
    """``queryset``'s rows counted up to ``cap`` (``CAP``); ``kind == "more"`` beyond it."""
    cap = CAP if cap is None else cap
    counted = queryset.order_by()[: cap + 1].count()
    if counted > cap:
        return ApproximateCount(cap + 1, "more")
    return ApproximateCount(counted)


def planner_estimate(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's estimate of the rows of ``queryset`` (``EXPLAIN``); ``None`` elsewhere."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def count_rows(queryset: QuerySet[Any], *, filtered: bool) -> ApproximateCount:
    """The count shown for a list: exact up to ``CAP``, then an estimate or "more than".

    Only an unfiltered list uses the planner's estimate: estimates of arbitrary filters can
    be far off, so a filtered list above the cap says "more than 10,000".
    """
    counted = capped_count(queryset)
    if counted.is_exact or filtered:
        return counted
    estimate = planner_estimate(queryset)
    if estimate is None:
        return counted
    return ApproximateCount(max(estimate, counted), "estimate")


def capped_subquery_count(
    model: type[Model], outer: str, where: str, params: tuple[Any, ...], *, using: str
) -> RawSQL:
    """An annotation: the capped count of ``model`` rows matching ``where`` for each row.

    ``where`` is SQL over the alias ``c`` of ``model``'s table and may name ``outer``, a
    column of the annotated queryset (for example ``c.queue = "django_jobs_queue"."name"``);
    ``{outer}`` in ``where`` is replaced by it.
    """
    connection = connections[using]
    table = connection.ops.quote_name(model._meta.db_table)
    condition = where.format(outer=outer)
    if connection.vendor == "mysql":
        # MariaDB (and MySQL before 8.0.14) refuse an outer column inside a derived table:
        # probe for row CAP + 1, and count only when there is none (at most CAP rows read).
        rows = f"FROM {table} c WHERE {condition}"
        sql = (
            f"(CASE WHEN EXISTS (SELECT 1 {rows} LIMIT 1 OFFSET %s) THEN %s "
            f"ELSE (SELECT COUNT(*) {rows}) END)"
        )
        return RawSQL(sql, (*params, CAP, CAP + 1, *params))
    sql = f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} c WHERE {condition} LIMIT %s) n)"
    return RawSQL(sql, (*params, CAP + 1))


#: Table size and the most common values of one column, from PostgreSQL's statistics.
_STATISTICS_SQL = """
SELECT s.most_common_vals::text::text[], s.most_common_freqs, c.reltuples, c.relpages,
       pg_relation_size(c.oid) / current_setting('block_size')::int
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = %s
WHERE c.oid = to_regclass(%s)
"""


def value_estimates(model: type[Model], column: str, *, using: str) -> dict[str, int] | None:
    """Estimated rows per value of ``column`` (PostgreSQL, after ANALYZE); else ``None``.

    The planner's own arithmetic: ``reltuples`` (rows at the last ANALYZE) scaled by the
    table's current size in pages, times each value's frequency in the sample. ``None`` on
    other databases, for a table never analysed, or one too small to bother (under ``CAP``).
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_STATISTICS_SQL, [column, table])
        row = cursor.fetchone()
    if row is None or row[0] is None or row[2] <= 0 or row[3] <= 0:
        return None
    values, frequencies, tuples, pages, current_pages = row
    rows = tuples / pages * max(current_pages, 1)
    if rows < CAP:
        return None
    return {value: round(rows * freq) for value, freq in zip(values, frequencies)}

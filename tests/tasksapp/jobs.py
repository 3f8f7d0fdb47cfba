"""A ``@task`` in a jobs.py module: discovered and registered like those of tasks.py."""

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task


@task
def multiply(a: int, b: int) -> int:
    return a * b

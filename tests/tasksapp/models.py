"""No models: a ``@task`` here checks that tasks built while Django imports models register."""

try:
    from django.tasks import task
except ImportError:
    from django_tasks import task


@task
def in_models(value: str) -> str:
    return value

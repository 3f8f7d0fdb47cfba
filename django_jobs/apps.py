from django.apps import AppConfig


class DjangoJobsConfig(AppConfig):
    name = "django_jobs"
    label = "django_jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_jobs import checks  # noqa: F401  (registers the system checks)
        from django_jobs.discovery import autodiscover, uses_jobs_tasks_backend
        from django_jobs.enqueue import inline
        from django_jobs.testing import run_inline

        inline.install(run_inline)  # enqueue runs new jobs through it in inline mode
        if uses_jobs_tasks_backend():
            from django_jobs.tasks import signals

            signals.connect()  # the framework's task_* signals, sent from ours
        autodiscover()

from django.apps import AppConfig


class DjangoJobsConfig(AppConfig):
    name = "django_jobs"
    label = "django_jobs"
    verbose_name = "Jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_jobs import checks  # noqa: F401  (registers the system checks)
        from django_jobs.discovery import autodiscover

        autodiscover()

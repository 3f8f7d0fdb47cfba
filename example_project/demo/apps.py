"""App configuration of the demo app."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo app; django_jobs discovers its ``jobs.py`` at start-up."""

    name = "demo"
    verbose_name = "Demo"
    default_auto_field = "django.db.models.BigAutoField"

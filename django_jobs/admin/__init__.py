"""The django_jobs control room in the Django admin (presentation only).

Importing this package registers a ModelAdmin for every model and, unless the project
chose its own, gives the admin index a link to the jobs dashboard. State changes go through
model methods (``django_jobs.operations``); counts never scan the job table.
"""

from django.contrib import admin

from django_jobs.admin import dead_letters, jobs, queues, schedules, workers

__all__ = ["dead_letters", "jobs", "queues", "schedules", "workers"]

if admin.site.index_template is None:
    admin.site.index_template = "django_jobs/admin/index.html"

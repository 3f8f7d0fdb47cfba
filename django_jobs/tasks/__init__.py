"""django_jobs as a backend for Django's Tasks framework (see ``django_jobs.backend``).

Nothing is imported here: ``django.tasks`` or the ``django-tasks`` backport is needed only by
projects that configure ``TASKS`` with ``django_jobs.backend.JobsBackend``.
"""

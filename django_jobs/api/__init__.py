"""The HTTP JSON API: ``path("jobs/api/", include("django_jobs.api.urls"))``.

Jobs (submit, status, list, cancel, delete, attempts), queues and roles (CRUD) and dead
letters (browse, history, resubmit, delete), behind authentication and model permissions,
described by an OpenAPI 3.1 document built from the same declarations that validate input.
See docs/reference/api.md.
"""

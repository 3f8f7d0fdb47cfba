"""``path("jobs/api/", include("django_jobs.api.urls"))``: every endpoint of the API."""

from __future__ import annotations

from django_jobs.api import dead_letters, jobs, openapi, queues, roles

app_name = "django_jobs_api"

ENDPOINTS = [
    *jobs.ENDPOINTS,
    *queues.ENDPOINTS,
    *roles.ENDPOINTS,
    *dead_letters.ENDPOINTS,
]
ENDPOINTS.append(openapi.endpoint_for(ENDPOINTS))  # the document lists itself too

urlpatterns = [endpoint.url() for endpoint in ENDPOINTS]

"""``path("jobs/metrics/", include("django_jobs.metrics.urls"))``: the Prometheus metrics view."""

from __future__ import annotations

from django.urls import path

from django_jobs.metrics import views

app_name = "django_jobs_metrics"

urlpatterns = [path("", views.metrics, name="metrics")]

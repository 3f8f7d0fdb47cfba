"""The django_jobs example project."""

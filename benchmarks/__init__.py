"""The django_jobs benchmark: ``python benchmarks/run.py`` (see benchmarks/README.md)."""

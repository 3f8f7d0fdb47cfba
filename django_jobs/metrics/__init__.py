"""The Prometheus metrics view: ``path("jobs/metrics/", include("django_jobs.metrics.urls"))``.

* ``collect``: every number, read from the jobs database in a bounded set of cheap queries
  (no ``prometheus_client`` needed);
* ``rollup``: the monotonic attempt totals behind the counters;
* ``exposition``: the numbers as metric families (``prometheus_client``, an optional extra:
  ``pip install "django-dbjobs[metrics]"``);
* ``views``: who may scrape (token, session with ``django_jobs.view_job``, or anyone when
  ``DJANGO_JOBS_METRICS_PUBLIC``) and the response.

Every metric is documented in ``docs/reference/metrics.md``.
"""

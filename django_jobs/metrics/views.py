"""The metrics view: who may scrape it, and the Prometheus text it answers.

Access, like the JSON API (``django_jobs.api.auth``): an ``Authorization: Bearer`` token
(``manage.py jobs_api_token USERNAME``) or a session, of a user with the permission
``django_jobs.view_job``; no credentials is a 401, a user without the permission a 403, and
neither carries any number. ``DJANGO_JOBS_METRICS_PUBLIC = True`` opens the view to anyone
who can reach it (a scraping network). GET only: it changes nothing a user could ask for.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from django_jobs.api.auth import authenticate
from django_jobs.api.errors import NotAuthenticated
from django_jobs.conf import jobs_settings

PERMISSION = "django_jobs.view_job"
MISSING_EXTRA = (
    "The metrics view needs prometheus-client: pip install 'django-dbjobs[metrics]' "
    "(or prometheus-client>=0.20).\n"
)


@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """``GET``: every metric of ``docs/reference/metrics.md`` in the text exposition format."""
    refused = refusal(request)
    if refused is not None:
        return refused
    try:
        from django_jobs.metrics import exposition
    except ImportError:
        return text(MISSING_EXTRA, status=501)
    from django_jobs.metrics import collect

    body, content_type = exposition.render(collect.read(), request.META.get("HTTP_ACCEPT", ""))
    return HttpResponse(body, content_type=content_type)


def refusal(request: HttpRequest) -> HttpResponse | None:
    """The 401 or 403 for a caller who may not scrape; ``None`` for one who may."""
    if jobs_settings.METRICS_PUBLIC:
        return None
    try:
        user, _ = authenticate(request)
    except NotAuthenticated as exc:
        response = text(f"{exc.message}\n", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="django_jobs"'
        return response
    if not user.has_perm(PERMISSION):
        return text(f"scraping the metrics needs the permission {PERMISSION}\n", status=403)
    return None


def text(message: str, *, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")

"""Who is calling: a session (browsers, with Django's CSRF check) or a bearer token (machines).

A token is ``django.core.signing`` data (salt ``django_jobs.api``, timestamped) holding the
user's primary key and a fingerprint of the user's password hash: changing the password
revokes every token of that user, and so does rotating ``SECRET_KEY``. Tokens expire after
``DJANGO_JOBS_API_TOKEN_MAX_AGE`` seconds when that is set. No table stores them;
``manage.py jobs_api_token USERNAME`` prints one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.crypto import constant_time_compare, salted_hmac

from django_jobs.api import settings as api_settings
from django_jobs.api.errors import CsrfFailed, NotAuthenticated

SALT = "django_jobs.api"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def password_fingerprint(user: Any) -> str:
    """A keyed hash of the user's password hash: it changes whenever the password does."""
    return salted_hmac(SALT + ".password", user.password or "", algorithm="sha256").hexdigest()[:32]


def make_token(user: Any) -> str:
    """A bearer token for ``user``."""
    return signing.dumps([str(user.pk), password_fingerprint(user)], salt=SALT)


def user_from_token(token: str) -> Any | None:
    """The active user a valid, unexpired, unrevoked token names; ``None`` otherwise."""
    seconds = api_settings.token_max_age()
    max_age = None if seconds is None else timedelta(seconds=seconds)
    try:
        pk, fingerprint = signing.loads(token, salt=SALT, max_age=max_age)
        user_model = get_user_model()
        user = user_model._default_manager.get(pk=pk)
    except (signing.BadSignature, ValueError, TypeError, ObjectDoesNotExist, ValidationError):
        return None
    if not getattr(user, "is_active", True):
        return None
    if not isinstance(fingerprint, str) or not constant_time_compare(
        fingerprint, password_fingerprint(user)
    ):
        return None
    return user


def authenticate(request: HttpRequest) -> tuple[Any, str]:
    """``(user, "token" | "session")``, or ``NotAuthenticated``.

    An ``Authorization: Bearer`` header decides alone (a bad token is a 401 even with a
    session); other schemes are ignored, leaving the session.
    """
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer":
        user = user_from_token(credentials.strip())
        if user is None:
            raise NotAuthenticated("the bearer token is invalid, expired or revoked")
        request.user = user
        return user, "token"
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise NotAuthenticated(
            "authentication required: log in (session cookie) or send 'Authorization: Bearer "
            "<token>' (manage.py jobs_api_token USERNAME prints one)"
        )
    return user, "session"


class _CsrfCheck(CsrfViewMiddleware):
    def _reject(self, request: HttpRequest, reason: str) -> Any:
        return reason  # the reason, not Django's HTML failure page


def check_csrf(request: HttpRequest) -> None:
    """Django's CSRF check, for session-authenticated unsafe requests (the views are exempt
    from the middleware so that token requests need no CSRF token)."""
    if request.method in SAFE_METHODS:
        return
    check = _CsrfCheck(lambda _request: None)  # type: ignore[arg-type]
    check.process_request(request)
    reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise CsrfFailed(f"CSRF check failed: {reason}")

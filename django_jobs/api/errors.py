"""API errors: one exception per HTTP error status, each rendering the same JSON body.

Every error body is ``{"error": <code>, "message": <sentence>}``; a 400 adds
``"errors": {<field>: [<message>, ...]}`` naming every invalid field, a 409 adds what the
conflict is about (for a job: its ``state``).
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


class ApiError(Exception):
    """Base class: ``status`` and ``code`` per subclass, a message and extra body members."""

    status = 500
    code = "error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.extra}

    def response(self) -> JsonResponse:
        return JsonResponse(self.body(), status=self.status)


class Invalid(ApiError):
    """400: some fields are invalid; ``errors`` maps each field to its messages."""

    status = 400
    code = "invalid"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        names = sorted(errors)
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        super().__init__(f"invalid input in: {', '.join(names[:10])}{more}", errors=errors)
        self.errors = errors

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        return cls({name: [message]})


class NotAuthenticated(ApiError):
    """401: no session and no valid token."""

    status = 401
    code = "not_authenticated"

    def response(self) -> JsonResponse:
        response = super().response()
        response["WWW-Authenticate"] = 'Bearer realm="django_jobs"'
        return response


class Forbidden(ApiError):
    """403: authenticated, but lacking the permission (or failing the CSRF check)."""

    status = 403
    code = "forbidden"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ApiError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed

    def response(self) -> JsonResponse:
        response = super().response()
        response["Allow"] = ", ".join(self.allowed)
        return response


class Conflict(ApiError):
    """409: the request is valid but the resource's current state forbids it."""

    status = 409
    code = "conflict"


class NotCancellable(Conflict):
    code = "not_cancellable"


class TooLarge(ApiError):
    status = 413
    code = "too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"

"""Endpoints: one URL with its operations, declared once for the router, the checks and the
OpenAPI document.

Every request goes through the same steps: method allowed (405) → authenticated (401) →
CSRF for session requests (403) → permission (403) → path, query and body valid (400, 413,
415) → the handler. Handlers return a :class:`Reply`; they raise ``ApiError`` subclasses for
404 / 409, never build error responses themselves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from django_jobs.api.auth import authenticate, check_csrf
from django_jobs.api.body import read_json
from django_jobs.api.errors import ApiError, Forbidden, Invalid, MethodNotAllowed
from django_jobs.api.schema import MISSING, Shape

APP_LABEL = "django_jobs"
_NO_FIELDS = Shape({})


@dataclass
class Call:
    """One validated request, as a handler sees it."""

    request: HttpRequest
    user: Any
    path: dict[str, Any]
    query: dict[str, Any]
    body: dict[str, Any]

    def has(self, codename: str) -> bool:
        return bool(self.user.has_perm(f"{APP_LABEL}.{codename}"))

    def require(self, codename: str) -> None:
        if not self.has(codename):
            raise Forbidden(f"this needs the permission {APP_LABEL}.{codename}")


@dataclass
class Reply:
    data: Any = None
    status: int = 200


@dataclass
class Response:
    """A documented success response: its description and body schema (``None``: no body)."""

    description: str
    schema: dict[str, Any] | None = None


@dataclass
class Operation:
    method: str
    handler: Callable[[Call], Reply]
    summary: str
    #: The user needs at least one of these ``django_jobs`` permissions (codenames); the
    #: handler may narrow it (PUT: add to create, change to replace).
    permissions: tuple[str, ...]
    responses: dict[int, Response]
    #: ... and every one of these as well (an operation that also deletes jobs needs
    #: ``delete_job``, as the admin asks).
    permissions_also: tuple[str, ...] = ()
    query: Shape | None = None
    body: Shape | None = None
    #: Error statuses beyond the common ones (say, 409).
    errors: dict[int, str] = field(default_factory=dict)
    description: str = ""


class Endpoint:
    """One URL (a Django route relative to the API root) and its operations."""

    def __init__(
        self, route: str, name: str, operations: list[Operation], path: Shape | None = None
    ) -> None:
        self.route = route
        self.name = name
        self.path = path or _NO_FIELDS
        self.operations = {op.method: op for op in operations}

    @property
    def template(self) -> str:
        """The OpenAPI path template: ``jobs/<str:id>/`` → ``jobs/{id}/``."""
        return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.route)

    def url(self) -> URLPattern:
        return path(self.route, self.view(), name=self.name)

    def view(self) -> Callable[..., HttpResponse]:
        allowed = list(self.operations)

        def handle(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            try:
                return self._respond(self.operations[request.method or ""], request, kwargs)
            except ApiError as exc:
                return exc.response()

        checked = require_http_methods(allowed)(handle)

        def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
            response = checked(request, **kwargs)
            if response.status_code == 405 and request.method not in allowed:
                message = f"{request.method} is not allowed here; use {', '.join(allowed)}"
                return MethodNotAllowed(message, allowed).response()
            return response

        view.__name__ = view.__qualname__ = f"api_{self.name.replace('-', '_')}"
        return csrf_exempt(view)

    def _respond(self, op: Operation, request: HttpRequest, kwargs: dict[str, Any]) -> HttpResponse:
        user, via = authenticate(request)
        if via == "session":
            check_csrf(request)
        _check_permissions(op, user)
        call = Call(request, user, *self._validate(op, request, kwargs))
        reply = op.handler(call)
        if reply.data is None:
            return HttpResponse(status=reply.status)
        return JsonResponse(reply.data, status=reply.status, safe=False)

    def _validate(
        self, op: Operation, request: HttpRequest, kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Path, query and body values; every invalid field of the three reported at once."""
        errors: dict[str, list[str]] = {}
        values: list[dict[str, Any]] = []
        raw = read_json(request) if op.body is not None else MISSING
        checks: list[Callable[[], dict[str, Any]]] = [
            lambda: self.path.validate_path(kwargs),
            lambda: (op.query or _NO_FIELDS).validate_query(request.GET),
            lambda: op.body.validate({} if raw is MISSING else raw) if op.body else {},
        ]
        for check in checks:
            try:
                values.append(check())
            except Invalid as exc:
                errors.update(exc.errors)
                values.append({})
        if errors:
            raise Invalid(errors)
        return values[0], values[1], values[2]


def _check_permissions(op: Operation, user: Any) -> None:
    if op.permissions and not any(user.has_perm(f"{APP_LABEL}.{p}") for p in op.permissions):
        needed = " or ".join(f"{APP_LABEL}.{p}" for p in op.permissions)
        raise Forbidden(f"this needs the permission {needed}")
    for codename in op.permissions_also:
        if not user.has_perm(f"{APP_LABEL}.{codename}"):
            raise Forbidden(f"this also needs the permission {APP_LABEL}.{codename}")

"""The OpenAPI 3.1 document, rendered from the endpoint declarations and their shapes.

Served at ``openapi.json`` under the API's root (any authenticated user may read it). Paths
are absolute, computed from where the project mounted the API.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from django_jobs.api.endpoint import Call, Endpoint, Operation, Reply, Response
from django_jobs.api.representations import SCHEMAS, ref

VERSION = "1.0.0"
_ERROR = {"application/json": {"schema": ref("Error")}}
_COMMON_ERRORS = {
    401: "Not authenticated: no session and no valid bearer token.",
    403: "Lacking the permission, or the CSRF check failed (session requests).",
}
_INPUT_ERRORS = {400: "Invalid input; `errors` names every invalid field."}
_BODY_ERRORS = {
    413: "The body is larger than DJANGO_JOBS_API_MAX_BODY_BYTES.",
    415: "The body is not application/json.",
}

DESCRIPTION = """\
Submit, inspect and cancel jobs; manage queues and roles; browse and resubmit dead letters.

**Authentication**: a Django session (browsers; unsafe methods need the CSRF token in the
`X-CSRFToken` header) or `Authorization: Bearer <token>` (machines; no CSRF), the token
printed by `manage.py jobs_api_token USERNAME`. Every operation needs the
`django_jobs` model permission it names.

**Errors** are `{"error": code, "message": sentence}`; a 400 adds `errors`, one list of
messages per invalid field.
"""


def _operation(endpoint: Endpoint, op: Operation) -> dict[str, Any]:
    perms = " or ".join(f"`django_jobs.{p}`" for p in op.permissions)
    perms = " and ".join([perms, *(f"`django_jobs.{p}`" for p in op.permissions_also)])
    doc: dict[str, Any] = {
        "operationId": f"{op.method.lower()}_{endpoint.name.replace('-', '_')}",
        "summary": op.summary,
        "description": " ".join(filter(None, [op.description, f"Permission: {perms}."])),
        "tags": [endpoint.route.split("/")[0]],
        "x-permissions": [f"django_jobs.{p}" for p in op.permissions],
    }
    if op.permissions_also:
        doc["x-permissions-also"] = [f"django_jobs.{p}" for p in op.permissions_also]
    params = endpoint.path.parameters("path") + (op.query.parameters("query") if op.query else [])
    if params:
        doc["parameters"] = params
    if op.body is not None:
        doc["requestBody"] = {
            "required": any(f.required for f in op.body.fields.values()),
            "content": {"application/json": {"schema": op.body.json_schema()}},
        }
    doc["responses"] = _responses(endpoint, op)
    return doc


def _responses(endpoint: Endpoint, op: Operation) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, response in sorted(op.responses.items()):
        responses[str(status)] = _success(response)
    errors = {**_COMMON_ERRORS, **_INPUT_ERRORS}  # unknown query parameters are refused anywhere
    if endpoint.path.fields:
        errors[404] = "No such resource."
    if op.body is not None:
        errors.update(_BODY_ERRORS)
    errors.update(op.errors)
    for status, description in sorted(errors.items()):
        responses[str(status)] = {"description": description, "content": _ERROR}
    return responses


def _success(response: Response) -> dict[str, Any]:
    doc: dict[str, Any] = {"description": response.description}
    if response.schema is not None:
        doc["content"] = {"application/json": {"schema": response.schema}}
    return doc


def build_document(endpoints: list[Endpoint], root: str) -> dict[str, Any]:
    """The document for ``endpoints`` mounted at ``root`` (``/jobs/api/``)."""
    paths: dict[str, Any] = {}
    for endpoint in endpoints:
        item = paths.setdefault(root + endpoint.template, {})
        for method, op in endpoint.operations.items():
            item[method.lower()] = _operation(endpoint, op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "django_jobs API", "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "security": [{"bearerToken": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "manage.py jobs_api_token USERNAME prints a token.",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "sessionid",
                    "description": "A Django session; unsafe methods also need X-CSRFToken.",
                },
            },
        },
    }


def root_path() -> str:
    """Where the project mounted the API, from the document's own URL."""
    return reverse("django_jobs_api:openapi").removesuffix("openapi.json")


def endpoint_for(endpoints: list[Endpoint]) -> Endpoint:
    """The endpoint that serves the document of ``endpoints``: the list the URLconf routes,
    which holds this endpoint too (``api/urls.py`` appends it), read at each request."""

    def document(call: Call) -> Reply:
        return Reply(build_document(endpoints, root_path()))

    return Endpoint(
        "openapi.json",
        "openapi",
        [
            Operation(
                "GET",
                document,
                "This OpenAPI document",
                (),
                {200: Response("The OpenAPI 3.1 document.", {"type": "object"})},
            )
        ],
    )

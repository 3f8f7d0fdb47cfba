"""Checks a response of the test client against the OpenAPI document the API serves."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
from django.http import HttpResponse


class ResponseChecker:
    """Finds the operation of a request in the document and validates the response.

    A response must have a documented status; its body must match the documented schema
    (or be empty when none is documented). A method the path does not offer must be a 405
    with the error body.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.checked = 0
        routes = []
        for template in document["paths"]:
            pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
            routes.append((template.count("{"), re.compile(f"^{pattern}$"), template))
        # Literal paths first: jobs/cancel/ before jobs/{id}/.
        self.routes = sorted(routes, key=lambda route: route[0])

    def operation_of(self, path: str) -> dict[str, Any] | None:
        for _, pattern, template in self.routes:
            if pattern.match(path):
                return self.document["paths"][template]
        return None

    def check(self, method: str, path: str, response: HttpResponse) -> None:
        item = self.operation_of(path)
        assert item is not None, f"{method} {path}: not a path of the OpenAPI document"
        operation = item.get(method.lower())
        status = str(response.status_code)
        if operation is None:
            assert status == "405", f"{method} {path}: undocumented method answered {status}"
            self._validate(method, path, response, {"$ref": "#/components/schemas/Error"})
            return
        spec = operation["responses"].get(status)
        assert spec is not None, (
            f"{method} {path}: status {status} is not documented "
            f"(documented: {', '.join(operation['responses'])}); body: {response.content[:300]!r}"
        )
        content = spec.get("content")
        if content is None:
            assert not response.content, f"{method} {path}: {status} must have no body"
            return
        self._validate(method, path, response, content["application/json"]["schema"])

    def _validate(
        self, method: str, path: str, response: HttpResponse, schema: dict[str, Any]
    ) -> None:
        assert response["Content-Type"].startswith("application/json"), (
            f"{method} {path}: {response.status_code} is {response['Content-Type']}, not JSON"
        )
        body = json.loads(response.content)
        rooted = {**schema, "components": self.document["components"]}
        validator = jsonschema.Draft202012Validator(
            rooted, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        assert not errors, (
            f"{method} {path} {response.status_code}: the body does not match the document:\n"
            + "\n".join(f"  at {list(e.absolute_path)}: {e.message}" for e in errors[:5])
        )
        self.checked += 1

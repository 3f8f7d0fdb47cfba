"""The validation layer: field descriptions that both check input and describe it.

A :class:`Field` holds a JSON Schema fragment (OpenAPI 3.1) and validates values by
interpreting that very fragment (type, bounds, length, pattern, enum, items), then runs an
optional semantic ``check`` (say, "is a registered definition"). A :class:`Shape` is a set of
fields: a request body, a query string or a path. The OpenAPI document (``openapi.py``) is
rendered from the same objects, so the document and the validation cannot drift apart.

Every problem is reported per field, all at once, as ``Invalid({field: [message]})``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from django_jobs.api.errors import Invalid
from django_jobs.exceptions import describe

MISSING: Any = object()
INT_RE = re.compile(r"^[+-]?[0-9]{1,18}$")
NUMBER_RE = re.compile(r"^[+-]?([0-9]{1,18})(\.[0-9]{1,18})?([eE][+-]?[0-9]{1,3})?$")
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


class FieldError(Exception):
    """One field's value is wrong; the message says how (without the field's name)."""


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The same schema, also allowing ``null``."""
    return {**schema, "type": [schema["type"], "null"]}


@dataclass(frozen=True)
class Field:
    schema: dict[str, Any]
    description: str
    required: bool = False
    #: The value used when the field is absent (``MISSING``: left out of the clean data).
    default: Any = MISSING
    #: A human sentence for ``pattern`` ("a queue name (1 to 100 characters ...)").
    rule: str | None = None
    #: Runs after the schema checks; returns the clean value or raises ``FieldError``.
    check: Callable[[Any], Any] | None = None

    def json_schema(self) -> dict[str, Any]:
        schema = {**self.schema, "description": self.description}
        if self.default is not MISSING:
            schema["default"] = self.default
        return schema

    def validate(self, value: Any) -> Any:
        value = check_value(self.schema, value, self.rule)
        if self.check is not None and value is not None:
            value = self.check(value)
        return value


# --- interpreting a schema fragment -----------------------------------------------------------


_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _typed(kind: str, value: Any) -> Any:
    """``value`` as ``kind``, or ``MISSING`` when it is not of that JSON type."""
    if kind == "string":
        return value if isinstance(value, str) else MISSING
    if kind == "boolean":
        return value if isinstance(value, bool) else MISSING
    if isinstance(value, bool):
        return MISSING
    if kind == "integer":
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():  # JSON Schema: 3.0 is an integer
            return int(value)
        return MISSING
    if kind == "number":
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        return value if ok else MISSING
    if kind == "array":
        return value if isinstance(value, list) else MISSING
    if kind == "object":
        return value if isinstance(value, dict) else MISSING
    if kind == "null":
        return value if value is None else MISSING
    raise ValueError(f"unsupported schema type {kind!r}")


def check_value(schema: Mapping[str, Any], value: Any, rule: str | None = None) -> Any:
    """``value`` checked against ``schema`` (the subset this package uses); ``FieldError``."""
    kinds = _types(schema)
    for kind in kinds:
        typed = _typed(kind, value)
        if typed is not MISSING:
            break
    else:
        wanted = " or ".join(_TYPE_NAMES[k] for k in kinds)
        raise FieldError(f"must be {wanted}, got {describe(value)}")
    if typed is None:
        return None
    if "enum" in schema and typed not in schema["enum"]:
        choices = ", ".join(str(c) for c in schema["enum"])
        raise FieldError(f"must be one of: {choices}; got {describe(value)}")
    if kind in ("integer", "number"):
        _check_range(schema, typed, _TYPE_NAMES[kind])
    elif kind == "string":
        _check_text(schema, typed, rule)
    elif kind == "array":
        typed = _check_items(schema, typed, rule)
    return typed


def _check_range(schema: Mapping[str, Any], value: float, what: str) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bounds = f"from {low} to {high}"
        elif low is not None:
            bounds = f">= {low}"
        else:
            bounds = f"<= {high}"
        raise FieldError(f"must be {what} {bounds}, got {value!r}")


def _check_text(schema: Mapping[str, Any], value: str, rule: str | None) -> None:
    if "\x00" in value:
        raise FieldError("must not contain the NUL character (\\u0000)")
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if len(value) < low or (high is not None and len(value) > high):
        span = f"{low} to {high}" if high is not None else f"at least {low}"
        raise FieldError(f"must be {span} characters long, got {len(value)}")
    pattern = schema.get("pattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        raise FieldError(f"must be {rule or 'of the form ' + pattern}, got {describe(value)}")


def _check_items(schema: Mapping[str, Any], value: list[Any], rule: str | None) -> list[Any]:
    low, high = schema.get("minItems", 0), schema.get("maxItems")
    if len(value) < low or (high is not None and len(value) > high):
        span = f"{low} to {high}" if high is not None else f"at least {low}"
        raise FieldError(f"must have {span} items, got {len(value)}")
    items = schema.get("items")
    if items is None:
        return value
    clean = []
    for index, item in enumerate(value):
        try:
            clean.append(check_value(items, item, rule))
        except FieldError as exc:
            raise FieldError(f"item {index} {exc}") from None
    return clean


# --- query strings ----------------------------------------------------------------------------


def _from_text(schema: Mapping[str, Any], text: str) -> Any:
    """A query-string value converted to the schema's type (checked afterwards)."""
    kinds = _types(schema)
    if "integer" in kinds:
        return int(text) if INT_RE.fullmatch(text) else text
    if "number" in kinds:
        return float(text) if NUMBER_RE.fullmatch(text) else text
    if "boolean" in kinds:
        return BOOLEANS.get(text.lower(), text)
    return text


def _query_value(field: Field, texts: list[str]) -> Any:
    if "array" in _types(field.schema):
        items = field.schema.get("items", {})
        return [_from_text(items, t) for part in texts for t in part.split(",") if t != ""]
    if len(texts) > 1:
        raise FieldError(f"must be given once, got {len(texts)} values")
    return _from_text(field.schema, texts[0])


# --- shapes -----------------------------------------------------------------------------------


class Shape:
    """A set of named fields: one request body, query string or path.

    ``clean(values)`` runs when every field is valid and may raise ``Invalid`` for rules
    that involve several fields; it returns the final values.
    """

    def __init__(
        self,
        fields: dict[str, Field],
        *,
        clean: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        description: str = "",
    ) -> None:
        self.fields = fields
        self.clean = clean
        self.description = description

    # validation

    def validate(self, data: Any, *, what: str = "body") -> dict[str, Any]:
        """Check a parsed JSON body (an object); return the clean values."""
        if not isinstance(data, dict):
            raise Invalid.field(what, f"must be a JSON object, got {type(data).__name__}")
        raw = {name: [value] for name, value in data.items()}
        return self._validate(raw, lambda field, values: values[0], "field")

    def validate_query(self, query: QueryDict) -> dict[str, Any]:
        raw = {name: query.getlist(name) for name in query}
        return self._validate(raw, _query_value, "query parameter")

    def validate_path(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        raw = {name: [value] for name, value in kwargs.items()}
        return self._validate(raw, lambda field, values: values[0], "path parameter")

    def _validate(
        self, raw: dict[str, list[Any]], convert: Callable[[Field, list[Any]], Any], kind: str
    ) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        known = f"the {kind}s are: {', '.join(self.fields)}" if self.fields else "none is taken"
        for name in raw:
            if name not in self.fields:
                errors[name] = [f"is not a {kind} here; {known}"]
        for name, field in self.fields.items():
            if name not in raw:
                if field.required:
                    errors[name] = ["is required"]
                elif field.default is not MISSING:
                    values[name] = field.default
                continue
            try:
                values[name] = field.validate(convert(field, raw[name]))
            except FieldError as exc:
                errors[name] = [str(exc)]
        if errors:
            raise Invalid(errors)
        return self.clean(values) if self.clean else values

    # description

    def json_schema(self) -> dict[str, Any]:
        """The body's schema: an object with exactly these properties."""
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: f.json_schema() for name, f in self.fields.items()},
            "additionalProperties": False,
        }
        required = [name for name, f in self.fields.items() if f.required]
        if required:
            schema["required"] = required
        if self.description:
            schema["description"] = self.description
        return schema

    def parameters(self, location: str) -> list[dict[str, Any]]:
        """OpenAPI parameter objects (``location``: ``query`` or ``path``)."""
        params = []
        for name, f in self.fields.items():
            param: dict[str, Any] = {
                "name": name,
                "in": location,
                "required": f.required or location == "path",
                "description": f.description,
                "schema": f.json_schema(),
            }
            if "array" in _types(f.schema):
                param.update(style="form", explode=True)
            params.append(param)
        return params

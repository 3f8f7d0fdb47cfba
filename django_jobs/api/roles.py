"""Roles: list, create, read, replace (PUT creates when missing), delete.

A role's queues must exist: an unknown queue name is a 400 naming ``queues``, and nothing is
written.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from django_jobs.api import fields as f
from django_jobs.api.endpoint import Call, Endpoint, Operation, Reply, Response
from django_jobs.api.errors import Conflict, Invalid, NotFound
from django_jobs.api.pagination import LIMIT, OFFSET, by_offset
from django_jobs.api.representations import ref, role_data
from django_jobs.api.schema import Field, FieldError, Shape
from django_jobs.conf import jobs_settings
from django_jobs.models import Queue, Role

ROLE_RULE = f.QUEUE_RULE.replace("a queue name", "a role name")


def _known_queues(names: list[str]) -> list[str]:
    unique = sorted(set(names))
    found = set(
        Queue.objects.using(jobs_settings.DATABASE)
        .filter(name__in=unique)
        .values_list("name", flat=True)
    )
    missing = [name for name in unique if name not in found]
    if missing:
        raise FieldError(
            f"has unknown queues: {', '.join(missing)}; create them first (POST queues/)"
        )
    return unique


_FIELDS = {
    "queues": Field(
        {"type": "array", "items": f.QUEUE_NAME_SCHEMA, "maxItems": 1000},
        "The names of the queues a worker with this role serves; each must exist.",
        rule=f.QUEUE_RULE,
        default=[],
        check=_known_queues,
    ),
    "description": Field({"type": "string", "maxLength": 200}, "What the role is for.", default=""),
}
CREATE = Shape(
    {
        "name": Field(
            f.QUEUE_NAME_SCHEMA,
            "The role's name (runjobs --role NAME).",
            required=True,
            rule=ROLE_RULE,
        ),
        **_FIELDS,
    }
)
REPLACE = Shape(_FIELDS, description="The whole role; absent fields are reset.")
NAME_PATH = Shape(
    {
        "name": Field(
            {"type": "string", "minLength": 1, "maxLength": 100}, "The role's name.", required=True
        )
    }
)
LIST_QUERY = Shape({"limit": LIMIT, "offset": OFFSET})


def _roles() -> Any:
    return Role.objects.using(jobs_settings.DATABASE)


def _get(name: str) -> Role:
    role = _roles().prefetch_related("queues").filter(name=name).first()
    if role is None:
        raise NotFound(f"no role named {name!r}")
    return role


def _exists(name: str) -> Conflict:
    message = f"a role named {name!r} exists already"
    return Conflict(message, errors={"name": [message]})


def _write(role: Role, values: dict[str, Any]) -> Role:
    """Save the role and set its queues, all or nothing."""
    alias = jobs_settings.DATABASE
    role.description = values["description"]
    queues = list(Queue.objects.using(alias).filter(name__in=values["queues"]))
    try:
        with transaction.atomic(using=alias):
            role.save(using=alias)
            role.queues.set(queues)
    except IntegrityError:
        raise _exists(role.name) from None
    return _get(role.name)


def list_roles(call: Call) -> Reply:
    roles = _roles().prefetch_related("queues").order_by("name")
    return Reply(by_offset(call.request, roles, call.query, role_data))


def create(call: Call) -> Reply:
    name = call.body["name"]
    if _roles().filter(name=name).exists():
        raise _exists(name)
    return Reply(role_data(_write(Role(name=name), call.body)), 201)


def read(call: Call) -> Reply:
    return Reply(role_data(_get(call.path["name"])))


def replace(call: Call) -> Reply:
    name = call.path["name"]
    role = _roles().filter(name=name).first()
    if role is None:
        call.require("add_role")
        if not f.QUEUE_NAME_RE.fullmatch(name):
            raise Invalid.field("name", f"must be {ROLE_RULE}, got {name!r}")
        return Reply(role_data(_write(Role(name=name), call.body)), 201)
    call.require("change_role")
    return Reply(role_data(_write(role, call.body)))


def delete(call: Call) -> Reply:
    deleted, _ = _roles().filter(name=call.path["name"]).delete()
    if not deleted:
        raise NotFound(f"no role named {call.path['name']!r}")
    return Reply(None, 204)


ENDPOINTS = [
    Endpoint(
        "roles/",
        "roles",
        [
            Operation(
                "GET",
                list_roles,
                "List roles by name",
                ("view_role",),
                {200: Response("A page of roles.", ref("RolePage"))},
                query=LIST_QUERY,
            ),
            Operation(
                "POST",
                create,
                "Create a role",
                ("add_role",),
                {201: Response("The new role.", ref("Role"))},
                body=CREATE,
                errors={409: "A role with this name exists."},
            ),
        ],
    ),
    Endpoint(
        "roles/<str:name>/",
        "role",
        [
            Operation(
                "GET", read, "A role", ("view_role",), {200: Response("The role.", ref("Role"))}
            ),
            Operation(
                "PUT",
                replace,
                "Create or replace a role",
                ("add_role", "change_role"),
                {200: Response("Replaced.", ref("Role")), 201: Response("Created.", ref("Role"))},
                body=REPLACE,
                description="Needs django_jobs.add_role to create, change_role to replace.",
            ),
            Operation(
                "DELETE", delete, "Delete a role", ("delete_role",), {204: Response("Deleted.")}
            ),
        ],
        path=NAME_PATH,
    ),
]

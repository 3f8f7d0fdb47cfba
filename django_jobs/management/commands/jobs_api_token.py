"""manage.py jobs_api_token USERNAME: print a bearer token for the HTTP JSON API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_jobs.api.auth import make_token


class Command(BaseCommand):
    help = (
        "Print a bearer token for the django_jobs HTTP API (Authorization: Bearer <token>). "
        "Changing the user's password revokes it; DJANGO_JOBS_API_TOKEN_MAX_AGE limits its age."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user the token acts as.")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(options["username"])
        except user_model.DoesNotExist:
            raise CommandError(f"no user named {options['username']!r}") from None
        if not getattr(user, "is_active", True):
            raise CommandError(f"user {options['username']!r} is inactive; a token would not work")
        self.stdout.write(make_token(user))

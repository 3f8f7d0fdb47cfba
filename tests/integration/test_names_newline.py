"""A name ending in a newline is refused everywhere (``$`` alone would accept a final ``\\n``)."""

from __future__ import annotations

import argparse

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings

from django_jobs import job
from django_jobs.enqueue import InvalidEnqueue
from django_jobs.exceptions import JobDefinitionError
from django_jobs.management.commands.runjobs import queue_name
from django_jobs.models import Job, Queue
from django_jobs.models.queue import validate_queue_name
from tests.testapp import jobs as defs

pytestmark = pytest.mark.django_db

NAMES = ["reports\n", "reports\r\n", "\nreports", "rep\norts"]


@pytest.mark.parametrize("name", NAMES)
def test_newline__refused_as_a_definition_name(name):
    with pytest.raises(JobDefinitionError, match="name"):
        job(name=name)(lambda: None)


@pytest.mark.parametrize("name", NAMES)
def test_newline__refused_as_a_queue_of_using(name):
    with pytest.raises(InvalidEnqueue, match="queue"):
        defs.add.using(queue=name).enqueue(1, 2)
    assert not Job.objects.exists()


@pytest.mark.parametrize("name", NAMES)
def test_newline__refused_by_the_queue_model(name):
    with pytest.raises(ValidationError):
        validate_queue_name(name)
    with pytest.raises(ValidationError):
        Queue(name=name).full_clean()


@pytest.mark.parametrize("name", NAMES)
def test_newline__refused_by_runjobs_queue_option(name):
    with pytest.raises(argparse.ArgumentTypeError):
        queue_name(name)


@pytest.mark.parametrize("name", NAMES)
def test_newline__refused_as_the_default_queue_setting(name):
    from django_jobs.conf import jobs_settings

    with (
        override_settings(DJANGO_JOBS_DEFAULT_QUEUE=name),
        pytest.raises(ImproperlyConfigured, match="DJANGO_JOBS_DEFAULT_QUEUE"),
    ):
        jobs_settings.DEFAULT_QUEUE

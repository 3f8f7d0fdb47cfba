"""The option table is the one list of job options: every reader takes its names from it."""

from dataclasses import fields

import pytest

from django_jobs import option_table
from django_jobs.option_table import API, BACKEND, DEFINITION, ENQUEUE, RECURRING, TASK, names
from django_jobs.registry import Definition, RecurringJob

#: Definition fields that are not options: who it is, and what RecurringJob derives.
NOT_OPTIONS = {"name", "version", "func", "kind", "max_failures"}


def test_option_table__holds_every_definition_field_that_is_an_option():
    option_fields = [f.name for f in fields(Definition) if f.name not in NOT_OPTIONS]
    assert list(names(DEFINITION)) == option_fields


def test_option_table__enqueue_options_are_those_using_keeps():
    from django_jobs.enqueue import EnqueueOptions

    assert set(names(ENQUEUE)) == {f.name for f in fields(EnqueueOptions)}


def test_option_table__api_schema_properties_are_its_api_options():
    from django_jobs.api.submit import OPTIONS, SUBMIT

    properties = list(SUBMIT.json_schema()["properties"])
    assert properties == ["name", "version", "args", "kwargs", *names(API)]
    assert names(API) == OPTIONS


def test_option_table__backend_options_are_its_backend_options():
    from django_jobs.tasks.definitions import task_options

    values = {"max_retries": 1, "retry_delay": 1, "backoff": "linear", "max_retry_delay": 1}
    values |= {"timeout": 1, "dead_letter": True, "result_ttl": 1}
    assert list(values) == list(names(BACKEND))
    assert set(task_options("default", values)) == set(names(BACKEND))


def test_option_table__task_options_are_the_definition_ones_it_does_not_refuse():
    from django_jobs.tasks.task_class import NOT_TASK_OPTIONS

    refused = option_table.task_refusals()
    assert refused == NOT_TASK_OPTIONS
    assert set(names(TASK)) == set(names(DEFINITION)) - set(refused)
    assert not set(names(TASK)) & set(refused)


def test_option_table__recurring_options_are_class_attributes():
    for option in names(RECURRING):
        assert option in vars(RecurringJob), option


def test_option_table__every_option_is_given_somewhere():
    for option in option_table.OPTIONS.values():
        assert option.where, option.name
        assert option.where <= {DEFINITION, RECURRING, ENQUEUE, API, BACKEND, TASK}
        assert callable(option.check)


@pytest.mark.parametrize(
    ("name", "place", "hint"),
    [
        ("retry_dealy", DEFINITION, " (did you mean 'retry_delay'?)"),
        ("backof", BACKEND, " (did you mean 'backoff'?)"),
        ("group_kee", ENQUEUE, " (did you mean 'group_key'?)"),
        ("group_kee", DEFINITION, ""),
        ("colour", ENQUEUE, ""),
    ],
)
def test_did_you_mean__suggests_an_option_of_the_place(name, place, hint):
    assert option_table.did_you_mean(name, place) == hint

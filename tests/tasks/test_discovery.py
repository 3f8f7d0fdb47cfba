"""tasks.py discovery: with a django_jobs TASKS backend, the apps' @task functions register."""

from django_jobs.discovery import autodiscover, uses_jobs_tasks_backend
from django_jobs.registry import registry


def test_discovery__imports_tasks_modules_with_a_jobs_backend():
    found = autodiscover()
    assert "tests.tasksapp.tasks" in found
    assert "tests.tasksapp.jobs" in found
    assert "tests.testapp.jobs" in found


def test_discovery__registers_the_tasks_it_finds(clean_registry):
    from django_jobs.tasks import definitions

    clean_registry.unregister("tests.tasksapp.tasks.add")
    clean_registry.unregister("tests.tasksapp.jobs.multiply")
    saved = dict(definitions._definitions)
    try:
        autodiscover()
        assert registry.find("tests.tasksapp.tasks.add", 1) is not None
        assert registry.find("tests.tasksapp.jobs.multiply", 1) is not None
    finally:
        definitions._definitions.clear()
        definitions._definitions.update(saved)


def test_discovery__leaves_tasks_modules_alone_without_a_jobs_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    assert not uses_jobs_tasks_backend()
    assert "tests.tasksapp.tasks" not in autodiscover()
    del settings.TASKS
    assert not uses_jobs_tasks_backend()


def test_discovery__recognises_a_subclass_of_the_backend(settings):
    settings.TASKS = {"default": {"BACKEND": "tests.tasks.test_discovery.CustomBackend"}}
    assert uses_jobs_tasks_backend()


def test_discovery__a_backend_path_that_does_not_import_is_left_to_the_framework(settings):
    settings.TASKS = {"default": {"BACKEND": "nowhere.Backend"}, "x": "not a dict"}
    assert not uses_jobs_tasks_backend()


def _custom_backend():
    from django_jobs.backend import JobsBackend

    return type("CustomBackend", (JobsBackend,), {"__module__": __name__})


CustomBackend = _custom_backend()

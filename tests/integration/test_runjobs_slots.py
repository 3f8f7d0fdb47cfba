"""``runjobs --slots`` as a real command: refused with exit code 2, shown in the banner."""

import pytest

from tests.acceptance.conftest import Workers

pytestmark = pytest.mark.django_db(transaction=True)


def test_runjobs_slots__bad_value_exits_2_naming_the_option():
    done = Workers().run("--burst", "--slots", "0", timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "runjobs: error: argument --slots: must be at least 1, got 0" in done.stderr
    assert "django_jobs worker" not in done.stdout  # refused before anything started


def test_runjobs_slots__shown_in_the_banner():
    given = Workers().run("--burst", "--concurrency", "1", "--slots", "3", timeout=60)
    assert given.returncode == 0, given.stdout + given.stderr
    assert "  concurrency: 1\n  slots: 3\n" in given.stdout
    default = Workers().run("--burst", "--concurrency", "1", timeout=60)
    assert default.returncode == 0, default.stdout + default.stderr
    assert "  slots: 10\n" in default.stdout

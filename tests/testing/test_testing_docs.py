"""docs/testing.rst's examples, run as a project runs them: each test module as the page shows
it, its ``conftest.py`` opting in to the kit's plugin, in a pytest process of their own."""

from __future__ import annotations

import pytest

from tests.readme import example, example_page, run_example

pytestmark = pytest.mark.extras

pytest_plugins = ["pytester"]

MODULES = {
    "test_flask": example("testing-flask"),
    "test_django": example("testing-django"),
    "test_fastapi": example("testing-fastapi"),
    "test_lifecycle": example("testing-lifecycle"),
    "test_forge": example("testing-forge"),
    "test_outbound": example("testing-outbound"),
}

# What stands for a Django project's settings (pytest-django, DJANGO_SETTINGS_MODULE), loaded
# with -p: not part of the page's examples.
DJANGO_SETTINGS = """
import django
from django.conf import settings


def pytest_configure():
    settings.configure(
        SECRET_KEY="a-test-only-django-secret-key-long-enough-for-its-checks",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF=None,
        MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()
"""


def test_the_examples_are_the_testing_pages() -> None:
    for name in ("testing-conftest", "testing-clock"):
        assert example_page(name).name == "testing.rst"
    for source in MODULES.values():
        assert "def test_" in source


def test_the_pages_tests_pass_under_the_kits_plugin(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(example("testing-conftest"))
    pytester.makepyfile(django_project_settings=DJANGO_SETTINGS, **MODULES)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "django_project_settings",
        "-W",
        "error",
        # Starlette 1.x warns on importing its TestClient where httpx2 is missing, as on
        # Python 3.10 and older, which httpx2 does not support: that concerns the test client.
        "-W",
        "ignore:Using `httpx` with `starlette.testclient`",
        "-v",
    )
    # Flask 4, Django 1, FastAPI 1, installs 2, Forge 3, outbound 2 + 2 (Jira and Confluence).
    result.assert_outcomes(passed=15)
    result.stdout.fnmatch_lines(
        [
            "*test_flask.py::test_an_expired_token_is_refused PASSED*",
            "*test_forge.py::test_an_event_runs_once_however_often_forge_delivers_it PASSED*",
            "*test_outbound.py::test_the_app_calls_as_itself?confluence? PASSED*",
        ]
    )


def test_the_clock_moves_signer_and_verifier_alike() -> None:
    assert run_example("testing-clock", {})["refused"] == "token_expired"

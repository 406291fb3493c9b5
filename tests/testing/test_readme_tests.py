"""The README's tests of an app, run as a new user runs them: a project of its own, the README's
app in ``myapp.py``, its ``conftest.py`` opting in to the kit's pytest plugin, and its four tests
(a Connect route, the ``installed`` callback, a Forge remote route, an outbound call), each
exactly as the README shows it, in a pytest process of their own."""

from __future__ import annotations

import pytest

from tests.readme import example

pytestmark = pytest.mark.extras

pytest_plugins = ["pytester"]

TESTS = {
    "test_connect_route": example("readme-test-connect"),
    "test_installed_callback": example("readme-test-installed"),
    "test_forge_route": example("readme-test-forge"),
    "test_outbound_call": example("readme-test-outbound"),
}


def test_each_readme_test_is_under_15_lines() -> None:
    for source in TESTS.values():
        test = source[source.index("\ndef test_") :].strip().splitlines()
        assert len(test) < 15, test[0]
        assert len(source.strip().splitlines()) < 15


def test_the_readme_tests_pass_under_the_kits_plugin(pytester: pytest.Pytester) -> None:
    # "With the code above in myapp.py": the app, and its outbound calls.
    pytester.makepyfile(myapp=example("readme-flask") + "\n\n" + example("readme-outbound"))
    pytester.makeconftest(example("readme-test-conftest"))
    pytester.makepyfile(**TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error", "-v")
    result.assert_outcomes(passed=4)
    for name in ("test_issue_panel", "test_installed", "test_forge_summary", "test_issue"):
        result.stdout.fnmatch_lines([f"*::{name} PASSED*"])


def test_the_readme_tests_fail_without_the_plugin(pytester: pytest.Pytester) -> None:
    # The fixtures come from the opt-in alone: without it, no test finds them.
    pytester.makepyfile(myapp=example("readme-flask") + "\n\n" + example("readme-outbound"))
    pytester.makepyfile(**TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=4)
    result.stdout.fnmatch_lines(["*fixture 'atlassian_tenant' not found*"])

"""The kit costs nothing to those who do not use it, and says what it needs when it is missing.

Not marked ``extras``: this runs in both the full and the ``noextras`` environments and checks
whichever behaviour the environment should have.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import jwt.algorithms
import pytest

from atlassian_jwt.testing import INSTALL_HINT, FakeAtlassianKeyServer, FakeForgeJWKS, new_rsa_key

HINT = (
    r"pip install 'cryptography>=3\.4' 'time-machine>=2\.19' 'pytest>=7' "
    r"\(the \[testing\] extra of atlassian-jwt 4\)"
)


def modules_after(statement: str) -> dict[str, bool]:
    """Which of the kit, pytest and time-machine a fresh interpreter has loaded after
    ``statement``."""
    code = (
        f"{statement}\nimport json, sys\n"
        "print(json.dumps({name: name in sys.modules for name in "
        "('atlassian_jwt.testing', 'pytest', '_pytest', 'time_machine')}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded: dict[str, bool] = json.loads(output)
    return loaded


def test_importing_the_library_loads_no_kit_and_no_test_framework() -> None:
    assert modules_after("import atlassian_jwt") == {
        "atlassian_jwt.testing": False,
        "pytest": False,
        "_pytest": False,
        "time_machine": False,
    }


def test_importing_the_kit_loads_no_test_framework() -> None:
    loaded = modules_after("import atlassian_jwt.testing")
    assert loaded["atlassian_jwt.testing"]
    assert not loaded["pytest"] and not loaded["_pytest"] and not loaded["time_machine"]


def test_the_plugin_does_not_load_itself() -> None:
    # No pytest11 entry point: a project gets the fixtures only by naming the plugin.
    distribution = importlib.metadata.distribution("atlassian-jwt")
    assert [point.group for point in distribution.entry_points] == ["console_scripts"]


def test_rsa_fakes_need_cryptography_or_say_so() -> None:
    if jwt.algorithms.has_crypto:
        key = new_rsa_key()
        assert FakeAtlassianKeyServer(private_key=key).kid
        assert FakeForgeJWKS(private_key=key).app_id
    else:
        for make in (new_rsa_key, FakeAtlassianKeyServer, FakeForgeJWKS):
            with pytest.raises(ImportError, match=HINT):
                make()


def test_without_cryptography_they_say_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jwt.algorithms, "has_crypto", False)
    for make in (new_rsa_key, FakeAtlassianKeyServer, FakeForgeJWKS):
        with pytest.raises(ImportError, match=HINT):
            make()
    assert INSTALL_HINT == (
        "pip install 'cryptography>=3.4' 'time-machine>=2.19' 'pytest>=7' "
        "(the [testing] extra of atlassian-jwt 4)"
    )


def test_the_testing_extra_names_what_the_kit_imports() -> None:
    requirements = importlib.metadata.requires("atlassian-jwt") or []
    testing = sorted(
        requirement.split(">=")[0]
        for requirement in requirements
        if 'extra == "testing"' in requirement
    )
    assert testing == ["cryptography", "pytest", "time-machine"]

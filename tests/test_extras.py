"""A missing extra names the packages to install, since the extra alone would fetch 3.0.0.

Not marked ``extras``: the hint is built from the installed metadata, which every environment
has, and no test here needs an optional package.
"""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Any

import pytest

import atlassian_jwt
from atlassian_jwt import _extras
from atlassian_jwt._extras import extra_requirements, install_hint, missing_extra

MAJOR = atlassian_jwt.__version__.split(".")[0]


def requirements_of(extra: str) -> list[str]:
    """The extra's requirements as the installed metadata lists them, markers dropped."""
    lines = importlib.metadata.requires("atlassian-jwt") or []
    return [
        line.split(";")[0].strip()
        for line in lines
        if f'extra == "{extra}"' in line
        and ('python_version >= "3.11"' not in line or sys.version_info >= (3, 11))
    ]


@pytest.mark.parametrize(
    "extra", ["crypto", "requests", "sqlalchemy", "postgres", "flask", "django", "testing"]
)
def test_the_hint_names_each_package_of_the_extra_with_its_version(extra: str) -> None:
    packages = " ".join(f"'{requirement}'" for requirement in requirements_of(extra))
    assert packages  # the metadata has the extra
    assert install_hint(extra, "unused") == (
        f"pip install {packages} (the [{extra}] extra of atlassian-jwt {MAJOR})"
    )


def test_regression_the_crypto_hint_installs_cryptography_not_atlassian_jwt_3() -> None:
    # pip install 'atlassian-jwt[crypto]' installs 3.0.0 from PyPI, which has no such extra.
    hint = install_hint("crypto", "cryptography")
    assert hint == f"pip install 'cryptography>=3.4' (the [crypto] extra of atlassian-jwt {MAJOR})"
    assert "atlassian-jwt[" not in hint


def test_without_our_metadata_the_hint_names_the_packages_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_installed(name: str) -> Any:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    assert install_hint("testing", "cryptography", "time-machine") == (
        f"pip install 'cryptography' 'time-machine' (the [testing] extra of atlassian-jwt {MAJOR})"
    )


def test_another_versions_metadata_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Say 3.0.0 is installed while a checkout of this version is imported: its extras differ.
    monkeypatch.setattr(atlassian_jwt, "__version__", "3.0.0")
    assert install_hint("crypto", "cryptography") == (
        "pip install 'cryptography' (the [crypto] extra of atlassian-jwt 3)"
    )


def test_extra_requirements_reads_markers_as_setuptools_writes_them() -> None:
    requires = [
        "PyJWT<3,>=2.10.1",
        'cryptography>=3.4; extra == "crypto"',
        'httpx2>=2.16; python_version >= "3.11" and extra == "httpx2"',
        'old>=1; python_version < "3.0" and extra == "httpx2"',
        'psycopg[binary]>=3.1; extra == "postgres"',
        'cryptography>=3.4; extra == "all"',
    ]
    assert extra_requirements("crypto", requires) == ["cryptography>=3.4"]
    assert extra_requirements("postgres", requires) == ["psycopg[binary]>=3.1"]
    assert extra_requirements("httpx2", requires) == (
        ["httpx2>=2.16"] if sys.version_info >= (3, 11) else []
    )
    assert extra_requirements("missing", requires) == []


def test_an_extra_that_installs_nothing_on_this_python_is_not_offered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx2 needs Python 3.11: before it, the httpx extra is the one to offer.
    def without_httpx2(extra: str) -> tuple[list[str], str]:
        return ([] if extra == "httpx2" else ["httpx>=0.24"]), "4"

    monkeypatch.setattr(_extras, "_installed_requirements", without_httpx2)
    error = missing_extra("This transport", ("httpx2", "httpx2"), ("httpx", "httpx"))
    assert str(error) == (
        "This transport needs httpx: "
        "pip install 'httpx>=0.24' (the [httpx] extra of atlassian-jwt 4)"
    )
    assert install_hint("httpx2", "httpx2").startswith(
        "the [httpx2] extra of atlassian-jwt 4 installs nothing on Python "
    )


def test_the_missing_extra_error_offers_each_option() -> None:
    error = missing_extra("X", ("sqlalchemy", "SQLAlchemy"), ("postgres", "SQLAlchemy"))
    assert isinstance(error, ImportError)
    assert str(error) == (
        f"X needs SQLAlchemy: pip install 'SQLAlchemy>=2.0' (the [sqlalchemy] extra of "
        f"atlassian-jwt {MAJOR}), or pip install 'SQLAlchemy>=2.0' 'psycopg[binary]>=3.1' "
        f"(the [postgres] extra of atlassian-jwt {MAJOR})"
    )

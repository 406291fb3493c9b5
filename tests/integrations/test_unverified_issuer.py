"""A forged issuer through a framework: text no tenant store can hold is an unknown issuer.

Issue 16.5: a token whose unverified ``iss`` was a lone surrogate (``"\\ud800"``, a JSON
escape, no secret needed) made the SQL stores raise ``UnicodeEncodeError``: HTTP 500 on every
URL under the Django middleware. Here through Django's test client, the middleware and the
decorator, with each store of the library behind a ``TenantStoreAuthenticator``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import path

# Django's settings, configured once for the process by that module.
import tests.integrations.test_django_ext as django_tests
from atlassian_jwt.integrations.django_ext import require_jwt
from atlassian_jwt.integrations.sqlalchemy_store import SQLAlchemyTenantStore
from atlassian_jwt.tenants import MemoryTenantStore, SQLiteTenantStore, TenantStoreAuthenticator
from atlassian_jwt.testing import sign_product_request
from tests.support import APP_KEY, CLIENT_KEY, SECRET

pytestmark = pytest.mark.extras

#: The Authenticator the middleware loads (by this dotted path); each test puts its store in.
AUTHENTICATOR = TenantStoreAuthenticator(MemoryTenantStore(app_key=APP_KEY))


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.atlassian_jwt.client_key)


urlpatterns = [
    path("page", view),
    path("decorated", require_jwt(AUTHENTICATOR)(view)),
]


@pytest.fixture(params=["memory", "sqlite", "sqlalchemy"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    if request.param == "memory":
        AUTHENTICATOR.store = MemoryTenantStore(app_key=APP_KEY)
    elif request.param == "sqlite":
        AUTHENTICATOR.store = SQLiteTenantStore(tmp_path / "t.db", app_key=APP_KEY)
    else:
        AUTHENTICATOR.store = SQLAlchemyTenantStore(
            f"sqlite:///{tmp_path / 'sa.db'}", app_key=APP_KEY
        )
    AUTHENTICATOR.store.save({"key": APP_KEY, "clientKey": CLIENT_KEY, "sharedSecret": SECRET})
    with override_settings(
        ROOT_URLCONF=django_tests.urlconf(urlpatterns),
        ATLASSIAN_JWT_AUTHENTICATOR=f"{__name__}.AUTHENTICATOR",
    ):
        yield Client()
    if isinstance(AUTHENTICATOR.store, SQLAlchemyTenantStore):
        AUTHENTICATOR.store.engine.dispose()


def token(issuer: str, target: str) -> str:
    """A token for ``GET target`` signed with the suite's secret, whoever ``issuer`` is."""
    return sign_product_request("GET", target, {"clientKey": issuer, "sharedSecret": SECRET})


@pytest.mark.parametrize("issuer", ["\ud800", "jira:\udfff", "jira:\x00", "jira:\nverdict: ok"])
@pytest.mark.parametrize("target", ["/page", "/decorated"])
def test_regression_a_forged_issuer_with_a_lone_surrogate_is_an_http_500(
    client: Client, caplog: pytest.LogCaptureFixture, issuer: str, target: str
) -> None:
    caplog.set_level(logging.INFO, logger="atlassian_jwt.integrations")
    forged = token(issuer, target)
    response = client.get(target, headers={"Authorization": f"JWT {forged}"})
    assert response.status_code == 401
    assert "unknown_issuer" in caplog.text and issuer not in caplog.text
    # The genuine tenant is still served.
    genuine = token(CLIENT_KEY, target)
    response = client.get(target, headers={"Authorization": f"JWT {genuine}"})
    assert response.status_code == 200 and response.content == CLIENT_KEY.encode()

"""docs/migrating.rst's tests of an app, before and after: a 3.0.0 suite's ``encode_token``
signing gets 401 now, the kit's signing as the product signs passes, and the kit's clock makes
an expired token. The app is a Flask route behind ``require_jwt``, as an app's would be."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g

from atlassian_jwt.integrations.flask_ext import require_jwt
from atlassian_jwt.tenants import MemoryTenantStore, TenantStoreAuthenticator
from atlassian_jwt.testing import (
    PRODUCT_TOKEN_LIFETIME,
    FrozenClock,
    make_tenant,
    product_request_headers,
)
from tests.readme import example_page, run_example

pytestmark = pytest.mark.extras


def app_namespace() -> dict[str, Any]:
    """What the examples take: the app's test client and a stored tenant."""
    tenant = make_tenant()
    store = MemoryTenantStore(app_key=tenant["key"])
    store.save(tenant)
    app = Flask("migrating")

    @app.get("/issue-panel")
    @require_jwt(TenantStoreAuthenticator(store))
    def issue_panel() -> str:
        return str(g.atlassian_jwt.client_key)

    return {"client": app.test_client(), "tenant": tenant}


def test_the_examples_are_the_migration_pages() -> None:
    for name in ("migrating-tests-before", "migrating-tests-after", "migrating-tests-expired"):
        assert example_page(name).name == "migrating.rst"


def test_a_3_0_0_suites_encode_token_signing_gets_401() -> None:
    namespace = run_example("migrating-tests-before", app_namespace())
    assert namespace["response"].status_code == 401


def test_the_kits_signing_is_the_products() -> None:
    namespace = run_example("migrating-tests-after", app_namespace())
    client_key = namespace["tenant"]["clientKey"]
    for response in (namespace["response"], namespace["page"]):
        assert (response.status_code, response.get_data(as_text=True)) == (200, client_key)


def test_the_kits_clock_makes_an_expired_token() -> None:
    namespace = run_example("migrating-tests-expired", app_namespace())
    assert namespace["expired"].status_code == 401
    # As the page says: the token was good until the Authenticator's 90 s leeway ran out.
    within = app_namespace()
    with FrozenClock() as clock:
        headers = product_request_headers("GET", "/issue-panel", within["tenant"])
        clock.advance(PRODUCT_TOKEN_LIFETIME + 89)
        assert within["client"].get("/issue-panel", headers=headers).status_code == 200

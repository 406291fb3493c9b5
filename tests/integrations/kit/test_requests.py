"""The app's outbound calls with requests, checked by the stand-in product: a few lines each."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from atlassian_jwt.integrations.requests_auth import ActAsUserAuth, AtlassianJWTAuth
from atlassian_jwt.oauth2 import TokenProvider
from atlassian_jwt.testing import FakeForgeJWKS, FrozenClock, ProductStandIn
from tests.support import ACCOUNT

pytestmark = pytest.mark.extras
pytest_plugins = ["atlassian_jwt.testing.pytest_plugin"]


@pytest.mark.parametrize("atlassian_product_type", ["jira", "confluence"])
def test_signed_calls(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    url = f"{atlassian_tenant['baseUrl']}/rest/api/content"
    auth = AtlassianJWTAuth(atlassian_tenant)
    response = requests.get(url, params={"spaceKey": "DEV", "limit": "2"}, auth=auth, timeout=10)
    assert response.status_code == 200
    call = atlassian_product.requests[-1]
    assert call.accepted and call.query == "spaceKey=DEV&limit=2"
    assert call.path == atlassian_product.base_path + "/rest/api/content"


def test_form_post(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    url = f"{atlassian_tenant['baseUrl']}/rest/api/3/form"
    auth = AtlassianJWTAuth(atlassian_tenant)
    response = requests.post(url, data={"a": "1 2", "b": "x"}, auth=auth, timeout=10)
    assert response.status_code == 200  # the form fields are in the qsh, as the product wants
    assert atlassian_product.requests[-1].body == b"a=1+2&b=x"


def test_configured_answer(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    atlassian_product.respond("GET", "/rest/api/3/issue/ABC-1", json={"key": "ABC-1"})
    url = f"{atlassian_tenant['baseUrl']}/rest/api/3/issue/ABC-1"
    issue = requests.get(url, auth=AtlassianJWTAuth(atlassian_tenant), timeout=10).json()
    assert issue == {"key": "ABC-1"}


def test_redirect_within_the_site(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    atlassian_product.respond("GET", "/rest/api/3/old", status=302, headers={"Location": "/new"})
    url = f"{atlassian_tenant['baseUrl']}/rest/api/3/old"
    response = requests.get(url, auth=AtlassianJWTAuth(atlassian_tenant), timeout=10)
    assert response.status_code == 200  # the hop was signed for its own URL
    assert [call.status for call in atlassian_product.requests] == [302, 200]


def test_no_token_to_another_origin(
    atlassian_tenant: Any, atlassian_product: ProductStandIn
) -> None:
    with ProductStandIn(host="localhost") as elsewhere:
        location = {"Location": f"{elsewhere.url}/rest/api/3/myself"}
        atlassian_product.respond("GET", "/rest/api/3/away", status=302, headers=location)
        url = f"{atlassian_tenant['baseUrl']}/rest/api/3/away"
        requests.get(url, auth=AtlassianJWTAuth(atlassian_tenant), timeout=10)
        assert elsewhere.requests[-1].rejection == "no_credentials"
        assert "Authorization" not in elsewhere.requests[-1].headers


def test_acting_as_a_user(atlassian_tenant: Any, atlassian_product: ProductStandIn) -> None:
    provider = TokenProvider(authorization_server=atlassian_product.authorization_server)
    auth = ActAsUserAuth(provider, atlassian_tenant, ACCOUNT, scopes=("READ",))
    url = f"{atlassian_tenant['baseUrl']}/rest/api/3/myself"
    assert requests.get(url, auth=auth, timeout=10).json()["accountId"] == ACCOUNT
    assert requests.get(url, auth=auth, timeout=10).status_code == 200
    assert len(atlassian_product.exchanges) == 1  # the provider cached the token


def test_forge_tokens(forge_jwks: FakeForgeJWKS, atlassian_product: ProductStandIn) -> None:
    headers = forge_jwks.invocation_headers(account_id=ACCOUNT, user_token=True)
    url = f"{atlassian_product.forge_api_base_url}/rest/api/3/myself"
    as_user = {"Authorization": f"Bearer {headers['x-forge-oauth-user']}"}
    assert requests.get(url, headers=as_user, timeout=10).json()["accountId"] == ACCOUNT
    as_app = {"Authorization": f"Bearer {headers['x-forge-oauth-system']}"}
    assert requests.get(url, headers=as_app, timeout=10).json()["auth"] == "forge-system"


def test_expired_forge_token(
    forge_jwks: FakeForgeJWKS, atlassian_product: ProductStandIn, atlassian_clock: FrozenClock
) -> None:
    headers = forge_jwks.invocation_headers(token_lifetime=300)
    atlassian_clock.advance(300)
    url = f"{atlassian_product.forge_api_base_url}/rest/api/3/myself"
    as_app = {"Authorization": f"Bearer {headers['x-forge-oauth-system']}"}
    response = requests.get(url, headers=as_app, timeout=10)
    assert (response.status_code, response.json()["code"]) == (401, "bearer_token_expired")

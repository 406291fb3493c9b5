"""requests: every call the app makes reaches a stand-in product that verifies its token."""

from __future__ import annotations

import importlib
import sys
from datetime import timedelta

import pytest
import requests
import time_machine

from atlassian_jwt.integrations.requests_auth import AtlassianJWTAuth
from atlassian_jwt.testing import LocalServer, ProductStandIn
from atlassian_jwt.url_utils import hash_url
from tests.readme import run_example
from tests.support import accepted_claims, authorization

pytestmark = pytest.mark.extras


def test_get_with_repeated_params_and_spaces(jira: ProductStandIn) -> None:
    response = requests.get(
        jira.base_url + "/rest/api/3/search",
        params=[("jql", "project = DEMO order by key"), ("field", "b c"), ("field", "a")],
        auth=AtlassianJWTAuth(jira.tenant),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    (call,) = jira.requests
    assert call.target.startswith("/rest/api/3/search?jql=project+%3D+DEMO")
    claims = accepted_claims(call)
    assert claims["iss"] == jira.tenant["key"] == jira.app_key
    assert claims["qsh"] == hash_url("GET", call.target)


def test_post_json(jira: ProductStandIn) -> None:
    response = requests.post(
        jira.base_url + "/rest/api/3/issue",
        json={"fields": {"summary": "a & b"}},
        auth=AtlassianJWTAuth(jira.tenant),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["body"] == '{"fields": {"summary": "a & b"}}'


def test_post_form_counts_its_fields_as_parameters(jira: ProductStandIn) -> None:
    response = requests.post(
        jira.base_url + "/rest/form?x=1",
        data={"a": "1 2", "x": "0"},
        auth=AtlassianJWTAuth(jira.tenant),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    claims = accepted_claims(jira.requests[0])
    assert claims["qsh"] == hash_url("POST", "/rest/form?x=1", body_params="a=1+2&x=0")


def test_confluence_tenant_under_wiki(confluence: ProductStandIn) -> None:
    response = requests.get(
        confluence.base_url + "/rest/api/space",
        params={"limit": 10},
        auth=AtlassianJWTAuth(confluence.tenant),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    (call,) = confluence.requests
    assert call.target == "/wiki/rest/api/space?limit=10"
    assert accepted_claims(call)["qsh"] == hash_url("GET", "/rest/api/space?limit=10")


@pytest.mark.parametrize(
    ("status", "method", "next_method"),
    [(302, "GET", "GET"), (303, "POST", "GET"), (307, "POST", "POST"), (308, "POST", "POST")],
)
def test_a_redirect_hop_gets_a_fresh_token_for_its_own_url(
    jira: ProductStandIn, status: int, method: str, next_method: str
) -> None:
    jira.respond("*", "/rest/old", status=status, headers={"Location": "/rest/new?b=x y&a=1"})
    response = requests.request(
        method,
        jira.base_url + "/rest/old",
        params={"q": 1},
        json={"n": 1},
        auth=AtlassianJWTAuth(jira.tenant),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    first, second = jira.requests
    assert (first.status, second.status) == (status, 200)
    assert (second.method, second.target) == (next_method, "/rest/new?b=x%20y&a=1")
    assert accepted_claims(second)["qsh"] == hash_url(next_method, second.target)
    assert authorization(first) != authorization(second)
    # The history keeps the response; the token on its request is the one for the next hop.
    assert [r.status_code for r in response.history] == [status]


def test_a_redirect_to_another_origin_carries_no_token(
    jira: ProductStandIn, elsewhere: ProductStandIn
) -> None:
    elsewhere_url = elsewhere.base_url + "/rest/api/3/issue/1"
    jira.respond("*", "/rest/old", status=302, headers={"Location": elsewhere_url})
    response = requests.get(
        jira.base_url + "/rest/old", auth=AtlassianJWTAuth(jira.tenant), timeout=10
    )
    assert response.status_code == 401  # the other origin saw no token
    (call,) = elsewhere.requests
    assert call.target == "/rest/api/3/issue/1" and authorization(call) is None


@pytest.mark.parametrize("status", [302, 307])
def test_no_hop_is_signed_after_a_foreign_one(jira: ProductStandIn, status: int) -> None:
    # The chain left the tenant and a foreign server sent it back to a product URL of its
    # choosing (a 307 keeps the POST body): that URL is never signed (the httpx auth mirrors
    # this; see test_regression_httpx_resigned_after_a_foreign_hop).
    with LocalServer(host="localhost") as foreign:
        location = jira.base_url + "/rest/api/3/issue/1/delete"
        foreign.respond("*", "/bounce", status=status, headers={"Location": location})
        jira.respond("*", "/rest/old", status=302, headers={"Location": foreign.url + "/bounce"})
        response = requests.request(
            "POST" if status == 307 else "GET",
            jira.base_url + "/rest/old",
            auth=AtlassianJWTAuth(jira.tenant),
            timeout=10,
        )
    assert response.status_code == 401
    assert [(call.target, call.status) for call in jira.requests] == [
        ("/rest/old", 302),
        ("/rest/api/3/issue/1/delete", 401),
    ]
    assert authorization(jira.requests[1]) is None
    assert [authorization(request) for request in foreign.received] == [None]
    # Nor does a token for that URL linger on the foreign hop's request in the history.
    assert "Authorization" not in response.history[1].request.headers


@pytest.mark.parametrize("body", ["a=x#y", "a=1&b=%23&c=#&d=#e#f", "#=1"])
def test_regression_form_body_with_a_raw_hash_is_hashed_whole(
    jira: ProductStandIn, body: str
) -> None:
    # 16.12: "#" ended the query the form was hashed as; the product refused the call.
    response = requests.post(
        jira.base_url + "/rest/form?x=1",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=AtlassianJWTAuth(jira.tenant),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    (call,) = jira.requests
    assert accepted_claims(call)["qsh"] == hash_url("POST", "/rest/form?x=1", body_params=body)


def test_refuses_to_sign_for_another_origin(
    jira: ProductStandIn, elsewhere: ProductStandIn
) -> None:
    with pytest.raises(ValueError, match="another origin"):
        requests.get(elsewhere.base_url + "/rest/x", auth=AtlassianJWTAuth(jira.tenant))
    assert elsewhere.requests == []


def test_session_signs_each_request_afresh(jira: ProductStandIn) -> None:
    url = jira.base_url + "/rest/api/3/myself"
    with requests.Session() as session, time_machine.travel(1_700_000_000, tick=True) as clock:
        session.auth = AtlassianJWTAuth(jira.tenant)
        assert session.get(url, timeout=10).status_code == 200
        # Ten minutes on: a reused token would have expired; a fresh one verifies.
        clock.shift(timedelta(minutes=10))
        assert session.get(url, timeout=10).status_code == 200
    first, second = (accepted_claims(call) for call in jira.requests)
    assert isinstance(first["iat"], int) and isinstance(second["iat"], int)
    assert second["iat"] - first["iat"] >= 600


@pytest.mark.parametrize("missing", ["key", "clientKey", "sharedSecret", "baseUrl"])
def test_tenant_info_must_have_what_signing_needs(jira: ProductStandIn, missing: str) -> None:
    tenant = dict(jira.tenant)
    del tenant[missing]
    with pytest.raises(ValueError, match=missing) as info:
        AtlassianJWTAuth(tenant)
    assert jira.tenant["sharedSecret"] not in str(info.value)


def test_base_url_must_be_absolute(jira: ProductStandIn) -> None:
    with pytest.raises(ValueError, match="absolute"):
        AtlassianJWTAuth({**jira.tenant, "baseUrl": "/wiki"})


def test_repr_shows_no_secret(jira: ProductStandIn) -> None:
    assert jira.tenant["sharedSecret"] not in repr(AtlassianJWTAuth(jira.tenant))


def test_without_requests_the_import_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "requests", None)
    monkeypatch.setitem(sys.modules, "requests.auth", None)
    monkeypatch.delitem(sys.modules, "atlassian_jwt.integrations.requests_auth")
    with pytest.raises(
        ImportError,
        match=r"pip install 'requests>=2\.28'"
        r" \(the \[requests\] extra of atlassian-jwt 4\)",
    ):
        importlib.import_module("atlassian_jwt.integrations.requests_auth")


def test_readme_example(jira: ProductStandIn) -> None:
    namespace = run_example("outbound-requests", {"tenant": jira.tenant})
    assert namespace["response"].status_code == 200
    (call,) = jira.requests
    assert call.target == "/rest/api/3/search?jql=project+%3D+DEMO&maxResults=5"

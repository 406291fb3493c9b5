"""httpx, sync and async: every call reaches a stand-in product that verifies its token."""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any, Protocol

import httpx
import jwt
import pytest

from atlassian_jwt.integrations.httpx_auth import AtlassianJWTAuth
from atlassian_jwt.url_utils import hash_url
from tests.conftest import APP_KEY, SECRET
from tests.integrations.product import Product
from tests.readme import run_example

pytestmark = pytest.mark.extras


class Send(Protocol):
    def __call__(
        self, method: str, url: str, *, auth: httpx.Auth, follow_redirects: bool = ..., **kw: Any
    ) -> httpx.Response: ...


def send_sync(
    method: str, url: str, *, auth: httpx.Auth, follow_redirects: bool = True, **kwargs: Any
) -> httpx.Response:
    with httpx.Client(auth=auth, follow_redirects=follow_redirects, timeout=10) as client:
        return client.request(method, url, **kwargs)


def send_async(
    method: str, url: str, *, auth: httpx.Auth, follow_redirects: bool = True, **kwargs: Any
) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(
            auth=auth, follow_redirects=follow_redirects, timeout=10
        ) as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(send())


@pytest.fixture(params=[send_sync, send_async], ids=["Client", "AsyncClient"])
def send(request: pytest.FixtureRequest) -> Send:
    function: Send = request.param
    return function


def claims_of(authorization: str | None) -> dict[str, Any]:
    assert authorization is not None and authorization.startswith("JWT ")
    claims: dict[str, Any] = jwt.decode(
        authorization[4:], SECRET, algorithms=["HS256"], options={"verify_aud": False}
    )
    return claims


def test_get_with_repeated_params_and_spaces(jira: Product, send: Send) -> None:
    response = send(
        "GET",
        jira.base_url + "/rest/api/3/search",
        params=[("jql", "project = DEMO order by key"), ("field", "b c"), ("field", "a")],
        auth=AtlassianJWTAuth(jira.tenant),
    )
    assert response.status_code == 200, response.text
    (call,) = jira.calls
    assert call.path.startswith("/rest/api/3/search?jql=project")
    claims = claims_of(call.authorization)
    assert claims["iss"] == APP_KEY
    assert claims["qsh"] == hash_url("GET", call.path)


def test_post_json(jira: Product, send: Send) -> None:
    response = send(
        "POST",
        jira.base_url + "/rest/api/3/issue",
        json={"fields": {"summary": "a & b"}},
        auth=AtlassianJWTAuth(jira.tenant),
    )
    assert response.status_code == 200, response.text
    assert response.json()["body"] == '{"fields":{"summary":"a & b"}}'


def test_post_form_counts_its_fields_as_parameters(jira: Product, send: Send) -> None:
    response = send(
        "POST",
        jira.base_url + "/rest/form?x=1",
        data={"a": "1 2", "x": "0"},
        auth=AtlassianJWTAuth(jira.tenant),
    )
    assert response.status_code == 200, response.text
    claims = claims_of(jira.calls[0].authorization)
    assert claims["qsh"] == hash_url("POST", "/rest/form?x=1", body_params="a=1+2&x=0")


def test_confluence_tenant_under_wiki(confluence: Product, send: Send) -> None:
    response = send(
        "GET",
        confluence.base_url + "/rest/api/space",
        params={"limit": 10},
        auth=AtlassianJWTAuth(confluence.tenant),
    )
    assert response.status_code == 200, response.text
    (call,) = confluence.calls
    assert call.path == "/wiki/rest/api/space?limit=10"
    assert claims_of(call.authorization)["qsh"] == hash_url("GET", "/rest/api/space?limit=10")


@pytest.mark.parametrize(
    ("status", "method", "next_method"),
    [(302, "GET", "GET"), (303, "POST", "GET"), (307, "POST", "POST")],
)
def test_a_followed_redirect_ends_with_a_fresh_token_for_its_own_url(
    jira: Product, send: Send, status: int, method: str, next_method: str
) -> None:
    jira.redirects["/rest/old"] = (status, "/rest/new?b=x%20y&a=1")
    response = send(
        method,
        jira.base_url + "/rest/old",
        params={"q": 1},
        json={"n": 1},
        auth=AtlassianJWTAuth(jira.tenant),
    )
    assert response.status_code == 200, response.text
    first, *_, last = jira.calls
    assert first.status == status
    assert (last.method, last.path, last.status) == (next_method, "/rest/new?b=x%20y&a=1", 200)
    assert claims_of(last.authorization)["qsh"] == hash_url(next_method, last.path)
    assert last.authorization != first.authorization
    # httpx runs an auth flow once per request, not per hop: the hop in between (if any) is
    # the product refusing the first URL's token, which the flow answers by signing afresh.
    assert [call.status for call in jira.calls] in ([status, 200], [status, 401, 200])


def test_next_request_of_an_unfollowed_redirect_is_signed_afresh(jira: Product) -> None:
    jira.redirects["/rest/old"] = (302, "/rest/new")
    with httpx.Client(auth=AtlassianJWTAuth(jira.tenant), timeout=10) as client:
        response = client.get(jira.base_url + "/rest/old")
        assert response.status_code == 302 and response.next_request is not None
        final = client.send(response.next_request)
    assert final.status_code == 200, final.text
    assert [call.status for call in jira.calls] == [302, 200]
    assert claims_of(jira.calls[1].authorization)["qsh"] == hash_url("GET", "/rest/new")


def test_a_redirect_to_another_origin_carries_no_token(
    jira: Product, elsewhere: Product, send: Send
) -> None:
    jira.redirects["/rest/old"] = (302, elsewhere.base_url + "/rest/api/3/issue/1")
    response = send("GET", jira.base_url + "/rest/old", auth=AtlassianJWTAuth(jira.tenant))
    assert response.status_code == 401  # the other origin saw no token, and got no retry
    (call,) = elsewhere.calls
    assert call.path == "/rest/api/3/issue/1" and call.authorization is None


def test_refuses_to_sign_for_another_origin(jira: Product, elsewhere: Product, send: Send) -> None:
    with pytest.raises(ValueError, match="another origin"):
        send("GET", elsewhere.base_url + "/rest/x", auth=AtlassianJWTAuth(jira.tenant))
    assert elsewhere.calls == []


def test_each_request_is_signed_when_sent(jira: Product) -> None:
    auth = AtlassianJWTAuth(jira.tenant)
    with httpx.Client(auth=auth, timeout=10) as client:
        for path in ("/rest/a", "/rest/b?x=1"):
            assert client.get(jira.base_url + path).status_code == 200
    qshs = [claims_of(call.authorization)["qsh"] for call in jira.calls]
    assert qshs == [hash_url("GET", "/rest/a"), hash_url("GET", "/rest/b?x=1")]


@pytest.mark.parametrize("missing", ["key", "clientKey", "sharedSecret", "baseUrl"])
def test_tenant_info_must_have_what_signing_needs(jira: Product, missing: str) -> None:
    tenant = jira.tenant
    tenant[missing] = ""
    with pytest.raises(ValueError, match=missing) as info:
        AtlassianJWTAuth(tenant)
    assert SECRET not in str(info.value)


def test_repr_shows_no_secret(jira: Product) -> None:
    assert SECRET not in repr(AtlassianJWTAuth(jira.tenant))


def test_without_httpx_the_import_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.delitem(sys.modules, "atlassian_jwt.integrations.httpx_auth")
    with pytest.raises(ImportError, match=r"pip install 'atlassian-jwt\[httpx\]'"):
        importlib.import_module("atlassian_jwt.integrations.httpx_auth")


def test_readme_example(jira: Product) -> None:
    namespace = run_example("outbound-httpx", {"tenant": jira.tenant})
    assert namespace["response"].status_code == 200
    assert [(call.path, call.status) for call in jira.calls] == [("/rest/api/3/myself", 200)]

"""httpx and httpx2, sync and async: every call reaches a stand-in product that verifies its
token."""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any, Protocol

import jwt
import pytest

from atlassian_jwt.integrations.httpx_auth import AtlassianJWTAuth
from atlassian_jwt.testing import LocalServer, ProductStandIn
from atlassian_jwt.url_utils import hash_url
from tests.httpx_libraries import LIBRARIES, each_library
from tests.readme import run_example
from tests.support import SECRET, accepted_claims, authorization

pytestmark = pytest.mark.extras


class Send(Protocol):
    """Send one request with a client of one library, sync or async."""

    lib: Any

    def __call__(
        self,
        method: str,
        url: str,
        *,
        auth: Any,
        follow_redirects: bool = ...,
        **kw: Any,
    ) -> Any: ...


class SendSync:
    def __init__(self, lib: Any) -> None:
        self.lib = lib

    def __call__(
        self, method: str, url: str, *, auth: Any, follow_redirects: bool = False, **kwargs: Any
    ) -> Any:
        with self.lib.Client(auth=auth, follow_redirects=follow_redirects, timeout=10) as client:
            return client.request(method, url, **kwargs)


class SendAsync(SendSync):
    def __call__(
        self, method: str, url: str, *, auth: Any, follow_redirects: bool = False, **kwargs: Any
    ) -> Any:
        async def send() -> Any:
            async with self.lib.AsyncClient(
                auth=auth, follow_redirects=follow_redirects, timeout=10
            ) as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())


@pytest.fixture(
    params=[(kind, lib) for lib in LIBRARIES for kind in (SendSync, SendAsync)],
    ids=[f"{lib.__name__}-{kind}" for lib in LIBRARIES for kind in ("Client", "AsyncClient")],
)
def send(request: pytest.FixtureRequest) -> Send:
    kind, lib = request.param
    sender: Send = kind(lib)
    return sender


def test_get_with_repeated_params_and_spaces(jira: ProductStandIn, send: Send) -> None:
    response = send(
        "GET",
        jira.base_url + "/rest/api/3/search",
        params=[("jql", "project = DEMO order by key"), ("field", "b c"), ("field", "a")],
        auth=AtlassianJWTAuth(jira.tenant),
    )
    assert response.status_code == 200, response.text
    (call,) = jira.requests
    assert call.target.startswith("/rest/api/3/search?jql=project")
    claims = accepted_claims(call)
    assert claims["iss"] == jira.tenant["key"] == jira.app_key
    assert claims["qsh"] == hash_url("GET", call.target)


def test_post_json(jira: ProductStandIn, send: Send) -> None:
    response = send(
        "POST",
        jira.base_url + "/rest/api/3/issue",
        json={"fields": {"summary": "a & b"}},
        auth=AtlassianJWTAuth(jira.tenant),
    )
    assert response.status_code == 200, response.text
    assert response.json()["body"] == '{"fields":{"summary":"a & b"}}'


def test_post_form_counts_its_fields_as_parameters(jira: ProductStandIn, send: Send) -> None:
    response = send(
        "POST",
        jira.base_url + "/rest/form?x=1",
        data={"a": "1 2", "x": "0"},
        auth=AtlassianJWTAuth(jira.tenant),
    )
    assert response.status_code == 200, response.text
    claims = accepted_claims(jira.requests[0])
    assert claims["qsh"] == hash_url("POST", "/rest/form?x=1", body_params="a=1+2&x=0")


def test_confluence_tenant_under_wiki(confluence: ProductStandIn, send: Send) -> None:
    response = send(
        "GET",
        confluence.base_url + "/rest/api/space",
        params={"limit": 10},
        auth=AtlassianJWTAuth(confluence.tenant),
    )
    assert response.status_code == 200, response.text
    (call,) = confluence.requests
    assert call.target == "/wiki/rest/api/space?limit=10"
    assert accepted_claims(call)["qsh"] == hash_url("GET", "/rest/api/space?limit=10")


@pytest.mark.parametrize(
    ("status", "method", "next_method"),
    [(302, "GET", "GET"), (303, "POST", "GET"), (307, "POST", "POST"), (308, "POST", "POST")],
)
def test_each_redirect_hop_is_signed_for_its_own_url_before_it_is_sent(
    jira: ProductStandIn, send: Send, status: int, method: str, next_method: str
) -> None:
    # Issue 13: a hop carried the first URL's token, which the product refused, and only then
    # was the final URL signed and sent again. The product must see one request per hop.
    jira.respond("*", "/rest/old", status=status, headers={"Location": "/rest/new?b=x%20y&a=1"})
    response = send(
        method,
        jira.base_url + "/rest/old",
        params={"q": 1},
        data={"n": "1#2"} if method == "POST" else None,
        auth=AtlassianJWTAuth(jira.tenant, follow_redirects=True),
    )
    assert response.status_code == 200, response.text
    first, last = jira.requests  # nothing refused, nothing sent twice
    assert (first.status, last.status) == (status, 200)
    assert (last.method, last.target) == (next_method, "/rest/new?b=x%20y&a=1")
    body = "n=1%232" if next_method == "POST" else None
    assert accepted_claims(last)["qsh"] == hash_url(next_method, last.target, body_params=body)
    assert last.body == (b"n=1%232" if next_method == "POST" else b"")
    assert [hop.status_code for hop in response.history] == [status]


def test_a_chain_of_hops_on_the_tenant_is_signed_hop_by_hop(
    jira: ProductStandIn, send: Send
) -> None:
    jira.respond("*", "/rest/a", status=302, headers={"Location": "/rest/b"})
    jira.respond("*", "/rest/b", status=307, headers={"Location": "/rest/c?x=1"})
    auth = AtlassianJWTAuth(jira.tenant, follow_redirects=True)
    assert send("GET", jira.base_url + "/rest/a", auth=auth).status_code == 200
    assert [(call.target, call.status) for call in jira.requests] == [
        ("/rest/a", 302),
        ("/rest/b", 307),
        ("/rest/c?x=1", 200),
    ]


def test_the_clients_max_redirects_still_applies(jira: ProductStandIn, send: Send) -> None:
    jira.respond("*", "/rest/loop", status=302, headers={"Location": "/rest/loop"})
    with pytest.raises(send.lib.TooManyRedirects):
        send(
            "GET",
            jira.base_url + "/rest/loop",
            auth=AtlassianJWTAuth(jira.tenant, follow_redirects=True),
        )
    assert len(jira.requests) == 21  # the first request and httpx's default of 20 redirects
    assert {call.status for call in jira.requests} == {302}  # every hop's token verified


def test_a_client_that_follows_redirects_itself_is_not_sent_twice(
    jira: ProductStandIn, send: Send
) -> None:
    jira.respond("*", "/rest/old", status=302, headers={"Location": "/rest/new"})
    with pytest.raises(RuntimeError, match="follow_redirects=True"):
        send(
            "GET",
            jira.base_url + "/rest/old",
            auth=AtlassianJWTAuth(jira.tenant),
            follow_redirects=True,
        )
    # httpx sent the hop with the first URL's token (no auth can change that); the auth does
    # not send it again, and says how to let it sign each hop.
    assert [(call.target, call.status) for call in jira.requests] == [
        ("/rest/old", 302),
        ("/rest/new", 401),
    ]


def test_next_request_of_an_unfollowed_redirect_is_signed_afresh(jira: ProductStandIn) -> None:
    jira.respond("*", "/rest/old", status=302, headers={"Location": "/rest/new"})
    for lib in LIBRARIES:
        jira.clear()
        with lib.Client(auth=AtlassianJWTAuth(jira.tenant), timeout=10) as client:
            response = client.get(jira.base_url + "/rest/old")
            assert response.status_code == 302 and response.next_request is not None
            # Signed for its own URL already, whoever sends it.
            header = response.next_request.headers["Authorization"]
            assert header.startswith("JWT ")
            waiting = jwt.decode(
                header[4:],
                jira.tenant["sharedSecret"],
                algorithms=["HS256"],
                audience=jira.tenant["clientKey"],
            )
            assert waiting["qsh"] == hash_url("GET", "/rest/new")
            final = client.send(response.next_request)
        assert final.status_code == 200, final.text
        assert [call.status for call in jira.requests] == [302, 200]
        assert accepted_claims(jira.requests[1])["qsh"] == hash_url("GET", "/rest/new")


@pytest.mark.parametrize("auth_follows", [True, False], ids=["auth follows", "client follows"])
def test_a_redirect_to_another_origin_carries_no_token(
    jira: ProductStandIn, elsewhere: ProductStandIn, send: Send, auth_follows: bool
) -> None:
    elsewhere_url = elsewhere.base_url + "/rest/api/3/issue/1"
    jira.respond("*", "/rest/old", status=302, headers={"Location": elsewhere_url})
    response = send(
        "GET",
        jira.base_url + "/rest/old",
        auth=AtlassianJWTAuth(jira.tenant, follow_redirects=auth_follows),
        follow_redirects=not auth_follows,
    )
    assert response.status_code == 401  # the other origin saw no token, and got no retry
    (call,) = elsewhere.requests
    assert call.target == "/rest/api/3/issue/1" and authorization(call) is None


@pytest.mark.parametrize("auth_follows", [True, False], ids=["auth follows", "client follows"])
@pytest.mark.parametrize("status", [302, 307])
def test_regression_httpx_resigned_after_a_foreign_hop(
    jira: ProductStandIn, send: Send, auth_follows: bool, status: int
) -> None:
    # 16.6: the chain left the tenant, and the foreign server sent it back to a product URL of
    # its choosing (a 307 keeps the POST body); the auth signed that URL and sent it again.
    with LocalServer(host="localhost") as foreign:
        location = jira.base_url + "/rest/api/3/issue/1/delete"
        foreign.respond("*", "/bounce", status=status, headers={"Location": location})
        jira.respond("*", "/rest/old", status=302, headers={"Location": foreign.url + "/bounce"})
        response = send(
            "POST" if status == 307 else "GET",
            jira.base_url + "/rest/old",
            auth=AtlassianJWTAuth(jira.tenant, follow_redirects=auth_follows),
            follow_redirects=not auth_follows,
        )
    assert response.status_code == 401
    assert [(call.target, call.status) for call in jira.requests] == [
        ("/rest/old", 302),
        ("/rest/api/3/issue/1/delete", 401),  # no token: the foreign server chose this URL
    ]
    assert authorization(jira.requests[1]) is None
    assert [authorization(request) for request in foreign.received] == [None]


def test_refuses_to_sign_for_another_origin(
    jira: ProductStandIn, elsewhere: ProductStandIn, send: Send
) -> None:
    with pytest.raises(ValueError, match="another origin"):
        send("GET", elsewhere.base_url + "/rest/x", auth=AtlassianJWTAuth(jira.tenant))
    assert elsewhere.requests == []


@each_library
def test_each_request_is_signed_when_sent(jira: ProductStandIn, lib: Any) -> None:
    auth = AtlassianJWTAuth(jira.tenant)
    with lib.Client(auth=auth, timeout=10) as client:
        for path in ("/rest/a", "/rest/b?x=1"):
            assert client.get(jira.base_url + path).status_code == 200
    qshs = [accepted_claims(call)["qsh"] for call in jira.requests]
    assert qshs == [hash_url("GET", "/rest/a"), hash_url("GET", "/rest/b?x=1")]


@pytest.mark.parametrize("body", ["a=x#y", "a=1&b=%23&c=#&d=#e#f", "#=1"])
def test_regression_form_body_with_a_raw_hash_is_hashed_whole(
    jira: ProductStandIn, send: Send, body: str
) -> None:
    # 16.12: "#" ended the query the form was hashed as, so the rest of the body went
    # unhashed and the product refused the call.
    response = send(
        "POST",
        jira.base_url + "/rest/form?x=1",
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=AtlassianJWTAuth(jira.tenant),
    )
    assert response.status_code == 200, response.text
    (call,) = jira.requests
    qsh = hash_url("POST", "/rest/form?x=1", body_params=body)
    assert accepted_claims(call)["qsh"] == qsh


@each_library
def test_the_auth_is_an_auth_of_each_library(jira: ProductStandIn, lib: Any) -> None:
    # Issue 13: httpx2.Client(auth=AtlassianJWTAuth(tenant)) raised 'Invalid "auth" argument'.
    auth = AtlassianJWTAuth(jira.tenant)
    assert isinstance(auth, lib.Auth)
    with lib.Client(auth=auth, timeout=10) as client:
        assert client.auth is auth


@pytest.mark.parametrize("missing", ["key", "clientKey", "sharedSecret", "baseUrl"])
def test_tenant_info_must_have_what_signing_needs(jira: ProductStandIn, missing: str) -> None:
    tenant = {**jira.tenant, missing: ""}
    with pytest.raises(ValueError, match=missing) as info:
        AtlassianJWTAuth(tenant)
    assert jira.tenant["sharedSecret"] not in str(info.value)


def test_repr_shows_no_secret(jira: ProductStandIn) -> None:
    assert jira.tenant["sharedSecret"] not in repr(AtlassianJWTAuth(jira.tenant))


def test_without_httpx_the_import_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.setitem(sys.modules, "httpx2", None)
    monkeypatch.delitem(sys.modules, "atlassian_jwt.integrations.httpx_auth")
    # httpx2 needs Python 3.11: before it, its extra installs nothing and is not offered.
    expected = (
        r"needs httpx2 or httpx: pip install 'httpx2>=2\.16' \(the \[httpx2\] extra of "
        r"atlassian-jwt 4\), or pip install 'httpx>=0\.24' \(the \[httpx\] extra"
        if sys.version_info >= (3, 11)
        else r"needs httpx: pip install 'httpx>=0\.24' \(the \[httpx\] extra of atlassian-jwt 4\)$"
    )
    with pytest.raises(ImportError, match=expected):
        importlib.import_module("atlassian_jwt.integrations.httpx_auth")


@each_library
def test_either_library_alone_is_enough(monkeypatch: pytest.MonkeyPatch, lib: Any) -> None:
    for other in ("httpx", "httpx2"):
        if other != lib.__name__:
            monkeypatch.setitem(sys.modules, other, None)
    monkeypatch.delitem(sys.modules, "atlassian_jwt.integrations.httpx_auth")
    module = importlib.import_module("atlassian_jwt.integrations.httpx_auth")
    tenant = {"key": "k", "clientKey": "c", "sharedSecret": SECRET, "baseUrl": "https://x.test"}
    assert isinstance(module.AtlassianJWTAuth(tenant), lib.Auth)


@each_library
def test_readme_example(jira: ProductStandIn, lib: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx2", lib)  # the README's httpx2, or httpx in its place
    namespace = run_example("outbound-httpx", {"tenant": jira.tenant})
    assert namespace["response"].status_code == 200
    assert [(call.target, call.status) for call in jira.requests] == [("/rest/api/3/myself", 200)]

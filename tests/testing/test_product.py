"""The stand-in product: it accepts the app's calls the product accepts and refuses the rest.

The app's side here is the core library alone (encode_token, TokenProvider) over urllib: not
marked ``extras``, so this runs in the ``noextras`` environment too. The integrations' auth
classes meet the stand-in in tests/integrations/kit.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from email.message import Message
from typing import Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt.oauth2 import GRANT_TYPE, TokenProvider, build_assertion
from atlassian_jwt.testing import (
    ACCESS_TOKEN_LIFETIME,
    FORGE_OAUTH_TOKEN_LIFETIME,
    FrozenClock,
    ProductStandIn,
    Reply,
)
from atlassian_jwt.url_utils import hash_url
from tests.support import ACCOUNT, FakeClock

FORM = "application/x-www-form-urlencoded"


class Answer:
    """What the product answered: status, headers and JSON body."""

    def __init__(self, status: int, headers: Message, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


def send(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10,
) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def jwt_call(method: str, url: str, tenant: Mapping[str, Any], **headers: str) -> Answer:
    """A call signed as the app signs it, with encode_token."""
    token = atlassian_jwt.encode_token(method, url, **tenant)
    return send(method, url, {"Authorization": f"JWT {token}", **headers})


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    with ProductStandIn() as product:
        yield product


@pytest.fixture
def confluence() -> Iterator[ProductStandIn]:
    with ProductStandIn("confluence") as product:
        yield product


def test_signed_call_is_accepted_and_recorded(jira: ProductStandIn) -> None:
    tenant = jira.tenant
    answer = jwt_call("GET", f"{tenant['baseUrl']}/rest/api/3/issue/ABC-1?expand=names", tenant)
    assert answer.status == 200
    assert answer.json == {
        "method": "GET",
        "path": "/rest/api/3/issue/ABC-1",
        "query": "expand=names",
        "auth": "jwt",
        "accountId": None,
        "body": "",
    }
    (call,) = jira.requests
    assert call.accepted and (call.auth, call.status) == ("jwt", 200)
    assert call.target == "/rest/api/3/issue/ABC-1?expand=names" and call.query == "expand=names"
    assert call.claims["iss"] == tenant["key"]
    assert call.headers["authorization"].startswith("JWT ")


def test_the_tenant_is_the_apps_installation_on_this_site(jira: ProductStandIn) -> None:
    tenant = jira.tenant
    assert tenant["baseUrl"] == jira.base_url == jira.url
    assert tenant["productType"] == "jira" and tenant["key"] == jira.app_key
    assert jira.base_url.startswith("http://127.0.0.1:")


def test_confluence_hashes_without_wiki(confluence: ProductStandIn) -> None:
    tenant = confluence.tenant
    assert tenant["baseUrl"] == confluence.url + "/wiki"
    assert tenant["productType"] == "confluence"
    assert jwt_call("GET", f"{tenant['baseUrl']}/rest/api/space", tenant).status == 200
    # A token whose qsh kept /wiki is what Confluence refuses.
    url = f"{tenant['baseUrl']}/rest/api/space"
    wrong = dict(tenant, baseUrl=confluence.url)
    answer = jwt_call("GET", url, wrong)
    assert (answer.status, answer.json["code"]) == (401, "qsh_mismatch")
    assert "GET&/rest/api/space&" in str(confluence.requests[-1].detail)
    assert [call.path for call in confluence.requests] == ["/wiki/rest/api/space"] * 2


def test_iss_must_be_the_app_key_not_the_client_key(jira: ProductStandIn) -> None:
    tenant = dict(jira.tenant)
    del tenant["key"]  # encode_token then signs as 3.0.0 did: iss = clientKey
    answer = jwt_call("GET", f"{tenant['baseUrl']}/rest/api/3/myself", tenant)
    assert (answer.status, answer.json["code"]) == (401, "unknown_issuer")
    call = jira.requests[-1]
    assert call.rejection == "unknown_issuer" and not call.accepted and call.auth is None
    assert "app key" in str(call.detail)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"sharedSecret": "another-secret-that-is-long-enough-for-hs256-x"}, "invalid_signature"),
        ({"key": "com.example.another-app"}, "unknown_issuer"),
    ],
)
def test_wrong_secret_or_app(jira: ProductStandIn, change: dict[str, str], code: str) -> None:
    answer = jwt_call("GET", f"{jira.base_url}/rest/api/3/myself", {**jira.tenant, **change})
    assert (answer.status, answer.json["code"]) == (401, code)


def test_a_token_for_another_request(jira: ProductStandIn) -> None:
    token = atlassian_jwt.encode_token("GET", f"{jira.base_url}/rest/api/3/a", **jira.tenant)
    answer = send("DELETE", f"{jira.base_url}/rest/api/3/a", {"Authorization": f"JWT {token}"})
    assert (answer.status, answer.json["code"]) == (401, "qsh_mismatch")


def test_no_credentials(jira: ProductStandIn) -> None:
    answer = send("GET", f"{jira.base_url}/rest/api/3/myself")
    assert (answer.status, answer.json["code"]) == (401, "no_credentials")
    assert jira.requests[-1].rejection == "no_credentials"


def test_expired_token_with_the_products_leeway(jira: ProductStandIn) -> None:
    url = f"{jira.base_url}/rest/api/3/myself"
    with FrozenClock() as clock:
        token = atlassian_jwt.encode_token("GET", url, timeout_secs=60, **jira.tenant)
        clock.advance(60 + 29)  # within Atlassian's 30 seconds
        assert send("GET", url, {"Authorization": f"JWT {token}"}).status == 200
        clock.advance(2)
        answer = send("GET", url, {"Authorization": f"JWT {token}"})
    assert (answer.status, answer.json["code"]) == (401, "token_expired")


def test_form_body_counts_as_parameters(jira: ProductStandIn) -> None:
    tenant, url = jira.tenant, f"{jira.base_url}/rest/api/3/form?x=1"
    body = "name=a+b&x=2"
    now = int(time.time())
    claims = {
        "iss": tenant["key"],
        "iat": now,
        "exp": now + 60,
        "qsh": hash_url("POST", url, tenant["baseUrl"], body_params=body),
    }
    token = jwt.encode(claims, tenant["sharedSecret"], algorithm="HS256")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    signed = {"Authorization": f"JWT {token}", **form}
    assert send("POST", url, signed, body.encode()).status == 200
    assert jira.requests[-1].body == body.encode()
    # The same body as JSON is no parameters: the qsh no longer matches.
    signed["Content-Type"] = "application/json"
    assert send("POST", url, signed, body.encode()).status == 401


def test_configured_answers(jira: ProductStandIn) -> None:
    jira.respond("GET", "/rest/api/3/issue/ABC-1", json={"key": "ABC-1"})
    jira.respond("*", "/rest/api/3/moved", status=302, headers={"Location": "/elsewhere"})
    tenant = jira.tenant
    assert jwt_call("GET", f"{jira.base_url}/rest/api/3/issue/ABC-1?x=1", tenant).json == {
        "key": "ABC-1"
    }
    moved = jwt_call("PUT", f"{jira.base_url}/rest/api/3/moved", tenant)
    assert (moved.status, moved.headers["Location"]) == (302, "/elsewhere")
    # Credentials are checked first, as the product checks them.
    assert send("GET", f"{jira.base_url}/rest/api/3/issue/ABC-1").status == 401
    assert [call.status for call in jira.requests] == [200, 302, 401]


def test_intercepted_answers_and_handler_bugs(jira: ProductStandIn) -> None:
    seen: list[str] = []

    def handler(request: Any) -> Reply | None:
        seen.append(request.target)
        return None if "pass" in request.target else Reply(418, b"teapot")

    jira.intercept("GET", "/rest/api/3/x", handler)
    tenant = jira.tenant
    assert jwt_call("GET", f"{jira.base_url}/rest/api/3/x?pass=1", tenant).status == 200
    assert jwt_call("GET", f"{jira.base_url}/rest/api/3/x", tenant).body == b"teapot"
    assert seen == ["/rest/api/3/x?pass=1", "/rest/api/3/x"]
    jira.intercept("GET", "/rest/api/3/bug", lambda request: 1 / 0)  # type: ignore[arg-type,return-value]
    assert jwt_call("GET", f"{jira.base_url}/rest/api/3/bug", tenant).status == 500
    assert [type(error) for error in jira.errors] == [ZeroDivisionError]


def test_a_reinstall_replaces_the_secret(jira: ProductStandIn) -> None:
    old = dict(jira.tenant)
    jira.tenant["sharedSecret"] = "a-new-secret-from-the-reinstall-long-enough-for-hs256"
    url = f"{jira.base_url}/rest/api/3/myself"
    assert jwt_call("GET", url, old).status == 401
    assert jwt_call("GET", url, jira.tenant).status == 200


def test_acting_as_a_user(jira: ProductStandIn) -> None:
    provider = TokenProvider(authorization_server=jira.authorization_server)
    token = provider.get_token(jira.tenant, ACCOUNT, scopes=("read", "write"))
    answer = send(
        "GET", f"{jira.base_url}/rest/api/3/myself", {"Authorization": token.authorization}
    )
    assert answer.status == 200 and answer.json["accountId"] == ACCOUNT
    assert (jira.requests[-1].auth, jira.requests[-1].account_id) == ("oauth2-user", ACCOUNT)
    (exchange,) = jira.exchanges
    assert exchange.problems == () and exchange.status == 200
    assert (exchange.account_id, exchange.scopes) == (ACCOUNT, ("READ", "WRITE"))
    assert exchange.claims["tnt"] == jira.tenant["baseUrl"]
    assert exchange.assertion.count(".") == 2
    assert token.expires_at == pytest.approx(time.time() + ACCESS_TOKEN_LIFETIME, abs=5)


def test_an_assertion_with_the_wrong_secret_is_refused(jira: ProductStandIn) -> None:
    provider = TokenProvider(authorization_server=jira.authorization_server)
    impostor = {**jira.tenant, "sharedSecret": "not-the-tenants-secret-but-long-enough-x"}
    with pytest.raises(atlassian_jwt.TokenExchangeError):
        provider.get_token(impostor, ACCOUNT)
    (exchange,) = jira.exchanges
    assert exchange.status == 400 and exchange.account_id is None and exchange.claims == {}
    assert any("Signature" in problem for problem in exchange.problems)


def test_exchange_form_is_checked(jira: ProductStandIn) -> None:
    form = urllib.parse.urlencode({"grant_type": "password", "scope": "read"}).encode()
    headers = {"Content-Type": "application/json"}
    answer = send("POST", f"{jira.url}/oauth2/token", headers, form)
    assert (answer.status, answer.json) == (400, {"error": "invalid_grant"})
    problems = " | ".join(jira.exchanges[-1].problems)
    for expected in ("content type", "form fields", "grant_type", "scope", "assertion"):
        assert expected in problems
    assert jira.requests == []  # exchanges are kept apart from API calls


def test_exchange_outage(jira: ProductStandIn) -> None:
    jira.respond("POST", "/oauth2/token", status=503, body="down")
    provider = TokenProvider(authorization_server=jira.authorization_server)
    with pytest.raises(atlassian_jwt.TokenExchangeError):
        provider.get_token(jira.tenant, ACCOUNT)
    assert jira.exchanges[-1].status == 503 and jira.exchanges[-1].problems == ()


def test_access_tokens_expire(jira: ProductStandIn) -> None:
    url = f"{jira.base_url}/rest/api/3/myself"
    with FrozenClock() as clock:
        provider = TokenProvider(authorization_server=jira.authorization_server)
        header = {"Authorization": provider.get_token(jira.tenant, ACCOUNT).authorization}
        clock.advance(ACCESS_TOKEN_LIFETIME - 1)
        assert send("GET", url, header).status == 200
        clock.advance(1)
        answer = send("GET", url, header)
    assert (answer.status, answer.json["code"]) == (401, "bearer_token_expired")
    assert send("GET", url, {"Authorization": "Bearer made-up"}).json["code"] == (
        "unknown_bearer_token"
    )


def test_a_clock_of_ones_own_judges_the_exchange_and_its_tokens() -> None:
    clock = FakeClock()
    with ProductStandIn(clock=clock) as jira:
        provider = TokenProvider(authorization_server=jira.authorization_server, clock=clock)
        url = f"{jira.base_url}/rest/api/3/myself"
        first = provider.get_token(jira.tenant, ACCOUNT)
        # An hour on the shared clock: the cached token has expired and a new assertion, an
        # hour ahead of the process clock, is accepted; so is the token issued for it.
        clock.now += 3600
        assert send("GET", url, {"Authorization": first.authorization}).json["code"] == (
            "bearer_token_expired"
        )
        second = provider.get_token(jira.tenant, ACCOUNT)
        assert second.access_token != first.access_token
        assert send("GET", url, {"Authorization": second.authorization}).status == 200
        assert [exchange.problems for exchange in jira.exchanges] == [(), ()]
        assert jira.exchanges[1].claims["iat"] == int(clock.now)
        assert second.expires_at == clock.now + ACCESS_TOKEN_LIFETIME
        # Connect tokens are still judged by the process clock, as the library judges them.
        assert jwt_call("GET", url, jira.tenant).status == 200


@pytest.mark.parametrize(
    ("signed_at", "problem"),
    [
        (-3600, "assertion: it has expired (exp)"),
        (+3600, "assertion: it was issued in the future (iat)"),
    ],
)
def test_an_assertion_out_of_its_time_is_refused(signed_at: int, problem: str) -> None:
    clock = FakeClock()
    with ProductStandIn(clock=clock) as jira:
        # The assertion is signed by the process clock; the server's is an hour off.
        clock.now -= signed_at
        provider = TokenProvider(authorization_server=jira.authorization_server)
        with pytest.raises(atlassian_jwt.TokenExchangeError):
            provider.get_token(jira.tenant, ACCOUNT)
        (exchange,) = jira.exchanges
    assert (exchange.status, exchange.problems) == (400, (problem,))


def test_the_leeway_applies_to_the_assertion_times(jira: ProductStandIn) -> None:
    now = time.time()
    within = build_assertion(
        jira.tenant, ACCOUNT, authorization_server=jira.authorization_server, now=now + 29
    )
    beyond = build_assertion(
        jira.tenant, ACCOUNT, authorization_server=jira.authorization_server, now=now + 40
    )
    for assertion in (within, beyond):
        form = urllib.parse.urlencode(
            {"grant_type": GRANT_TYPE, "assertion": assertion, "scope": "READ"}
        ).encode()
        send("POST", f"{jira.url}/oauth2/token", {"Content-Type": FORM}, form)
    assert [exchange.problems for exchange in jira.exchanges] == [
        (),
        ("assertion: it was issued in the future (iat)",),
    ]


@pytest.mark.parametrize("claim", ["iat", "exp", "nbf"])
def test_assertion_times_must_be_numbers(jira: ProductStandIn, claim: str) -> None:
    now = int(time.time())
    claims = {
        "iss": f"urn:atlassian:connect:clientid:{jira.tenant['oauthClientId']}",
        "sub": f"urn:atlassian:connect:useraccountid:{ACCOUNT}",
        "tnt": jira.tenant["baseUrl"],
        "aud": jira.authorization_server,
        "iat": now,
        "exp": now + 60,
        claim: str(now),
    }
    assertion = jwt.encode(claims, jira.tenant["sharedSecret"], algorithm="HS256")
    form = urllib.parse.urlencode(
        {"grant_type": GRANT_TYPE, "assertion": assertion, "scope": "READ"}
    ).encode()
    answer = send("POST", f"{jira.url}/oauth2/token", {"Content-Type": FORM}, form)
    assert answer.status == 400
    assert jira.exchanges[-1].problems == (f"assertion: {claim} not a number of seconds",)
    assert jira.errors == []


def test_forge_tokens_on_the_forge_api(jira: ProductStandIn) -> None:
    api = jira.forge_api_base_url
    assert api == f"{jira.url}/ex/jira/{jira.cloud_id}"
    user = {"Authorization": f"Bearer {jira.issue_forge_token('user', account_id=ACCOUNT)}"}
    answer = send("GET", f"{api}/rest/api/3/myself?x=1", user)
    assert answer.status == 200 and answer.json["accountId"] == ACCOUNT
    call = jira.requests[-1]
    assert (call.auth, call.path, call.target) == (
        "forge-user",
        "/rest/api/3/myself",
        f"/ex/jira/{jira.cloud_id}/rest/api/3/myself?x=1",
    )
    app = {"Authorization": f"Bearer {jira.issue_forge_token()}"}
    assert send("GET", f"{api}/rest/api/3/myself", app).json["auth"] == "forge-system"


def test_forge_token_claims(jira: ProductStandIn) -> None:
    token = jira.issue_forge_token("user", account_id=ACCOUNT, now=1_700_000_000)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] == 1_700_000_000 + FORGE_OAUTH_TOKEN_LIFETIME
    assert (claims["sub"], claims["kind"], claims["cloudId"]) == (ACCOUNT, "user", jira.cloud_id)
    with pytest.raises(ValueError, match="account id"):
        jira.issue_forge_token("user")
    with pytest.raises(ValueError, match="kind"):
        jira.issue_forge_token("admin")


def test_forge_tokens_expire(jira: ProductStandIn) -> None:
    url = f"{jira.forge_api_base_url}/rest/api/3/myself"
    with FrozenClock() as clock:
        header = {"Authorization": f"Bearer {jira.issue_forge_token(lifetime=60)}"}
        clock.advance(59)
        assert send("GET", url, header).status == 200
        clock.advance(1)
        assert send("GET", url, header).json["code"] == "bearer_token_expired"


@pytest.mark.parametrize(
    ("path", "credentials", "code"),
    [
        # a Forge token for another site, or sent to another site
        ("/ex/jira/another-cloud/rest/api/3/myself", "forge", "wrong_site"),
        ("/ex/confluence/{cloud}/wiki/rest/api/space", "forge", "wrong_site"),
        ("/ex/jira/{cloud}/rest/api/3/myself", "other-site", "unknown_bearer_token"),
        # each kind of credentials on its own kind of path only
        ("/rest/api/3/myself", "forge", "unknown_bearer_token"),
        ("/ex/jira/{cloud}/rest/api/3/myself", "access-token", "unknown_bearer_token"),
        ("/ex/jira/{cloud}/rest/api/3/myself", "jwt", "no_credentials"),
    ],
)
def test_forge_api_refusals(jira: ProductStandIn, path: str, credentials: str, code: str) -> None:
    path = path.format(cloud=jira.cloud_id)
    if credentials == "forge":
        authorization = f"Bearer {jira.issue_forge_token()}"
    elif credentials == "other-site":
        with ProductStandIn() as other:
            authorization = f"Bearer {other.issue_forge_token()}"
    elif credentials == "access-token":
        provider = TokenProvider(authorization_server=jira.authorization_server)
        authorization = provider.get_token(jira.tenant, ACCOUNT).authorization
    else:
        token = atlassian_jwt.encode_token("GET", jira.url + path, **jira.tenant)
        authorization = f"JWT {token}"
    answer = send("GET", jira.url + path, {"Authorization": authorization})
    assert (answer.status, answer.json["code"]) == (401, code)
    assert jira.requests[-1].rejection == code


def test_clear_and_hits(jira: ProductStandIn) -> None:
    send("GET", f"{jira.base_url}/rest/api/3/myself")
    assert len(jira.requests) == 1 and jira.hit_count() == 1
    jira.clear()
    assert jira.requests == [] and jira.exchanges == [] and jira.hit_count() == 1


def test_another_origin_on_localhost() -> None:
    with ProductStandIn(host="localhost") as elsewhere:
        assert elsewhere.tenant["baseUrl"].startswith("http://localhost:")
        assert jwt_call("GET", f"{elsewhere.base_url}/x", elsewhere.tenant).status == 200


def test_before_start() -> None:
    product = ProductStandIn(cloud_id="cloud-1", tenant_fields={"serverVersion": "1"})
    with pytest.raises(RuntimeError, match="with block"):
        product.tenant  # noqa: B018
    with product:
        assert product.tenant["serverVersion"] == "1"
        assert product.forge_api_base_url.endswith("/ex/jira/cloud-1")
    with pytest.raises(ValueError, match="product_type"):
        ProductStandIn("bitbucket")


def test_slow_answers_time_out(jira: ProductStandIn) -> None:
    jira.respond("GET", "/rest/api/3/slow", delay=30)
    token = atlassian_jwt.encode_token("GET", f"{jira.base_url}/rest/api/3/slow", **jira.tenant)
    started = time.monotonic()
    with pytest.raises(OSError, match="timed out"):
        send(
            "GET",
            f"{jira.base_url}/rest/api/3/slow",
            {"Authorization": f"JWT {token}"},
            timeout=0.2,
        )
    assert time.monotonic() - started < 10  # a hang would be caught here, not a speed check


def test_reprs_show_no_credentials(jira: ProductStandIn) -> None:
    provider = TokenProvider(authorization_server=jira.authorization_server)
    token = provider.get_token(jira.tenant, ACCOUNT)
    send("GET", f"{jira.base_url}/rest/api/3/myself", {"Authorization": token.authorization})
    shown = repr(jira) + repr(jira.exchanges) + repr(jira.requests)
    for secret in (jira.tenant["sharedSecret"], jira.exchanges[0].assertion, token.access_token):
        assert secret not in shown
    assert jira.url in repr(jira) and ACCOUNT in shown
    assert repr(ProductStandIn()) == "<ProductStandIn not started>"

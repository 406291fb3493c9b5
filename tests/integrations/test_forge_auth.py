"""ForgeAuth with requests, httpx and httpx2 (sync and async): the Forge tokens reach the stand-in
product's Forge API, and nowhere else."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from atlassian_jwt import ForgeInvocation, ForgeInvocationVerifier, ForgeTokenUnavailableError
from atlassian_jwt.forge import keep_app_token
from atlassian_jwt.integrations import httpx_auth, requests_auth
from atlassian_jwt.tenants import MemoryTenantStore
from atlassian_jwt.testing import FakeForgeJWKS, ProductStandIn
from tests.forge.conftest import ACCOUNT
from tests.httpx_libraries import LIBRARIES
from tests.support import APP_KEY

pytestmark = pytest.mark.extras


class Sender:
    """Sends one request with one client library, sync or async, with its ForgeAuth."""

    def __init__(self, library: str, kind: str = "sync") -> None:
        self.library, self.kind = library, kind
        self.module: Any = requests_auth if library == "requests" else httpx_auth

    def auth(self, invocation: ForgeInvocation, **kwargs: Any) -> Any:
        if self.library != "requests":
            kwargs.setdefault("follow_redirects", True)
        return self.module.ForgeAuth(invocation, **kwargs)

    def send(self, method: str, url: str, auth: Any) -> int:
        if self.library == "requests":
            return requests.request(method, url, auth=auth, timeout=10).status_code
        lib = next(module for module in LIBRARIES if module.__name__ == self.library)
        if self.kind == "sync":
            with lib.Client(auth=auth, timeout=10) as client:
                return int(client.request(method, url).status_code)

        async def send() -> int:
            async with lib.AsyncClient(auth=auth, timeout=10) as client:
                return int((await client.request(method, url)).status_code)

        return asyncio.run(send())

    def __repr__(self) -> str:
        return f"{self.library}-{self.kind}"


SENDERS = [Sender("requests")] + [
    Sender(lib.__name__, kind) for lib in LIBRARIES for kind in ("sync", "async")
]


@pytest.fixture(params=SENDERS, ids=repr)
def sender(request: pytest.FixtureRequest) -> Sender:
    chosen: Sender = request.param
    return chosen


@pytest.fixture
def other_site() -> Iterator[ProductStandIn]:
    """Another origin ("localhost", not "127.0.0.1"): no token may reach it."""
    with ProductStandIn(host="localhost") as site:
        yield site


def invoke(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, **options: Any) -> Any:
    return verifier.verify_request(forge.invocation_headers(**options))


def test_the_app_token_calls_the_forge_api(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, product: ProductStandIn, sender: Sender
) -> None:
    invocation = invoke(forge, verifier)
    url = invocation.product_url("/rest/api/3/myself", {"expand": "groups"})
    assert sender.send("GET", url, sender.auth(invocation)) == 200
    [call] = product.requests
    assert call.accepted and call.auth == "forge-system"
    assert (call.path, call.query) == ("/rest/api/3/myself", "expand=groups")
    assert call.headers["Authorization"] == f"Bearer {invocation.app_token.value}"


def test_as_user_sends_the_users_token(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, product: ProductStandIn, sender: Sender
) -> None:
    invocation = invoke(forge, verifier, account_id=ACCOUNT, user_token=True)
    url = invocation.product_url("/rest/api/3/myself")
    assert sender.send("GET", url, sender.auth(invocation, as_user=True)) == 200
    [call] = product.requests
    assert (call.auth, call.account_id) == ("forge-user", ACCOUNT)


def test_without_the_token_the_auth_cannot_be_made(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, sender: Sender
) -> None:
    no_user = invoke(forge, verifier)
    with pytest.raises(ForgeTokenUnavailableError) as caught:
        sender.auth(no_user, as_user=True)
    assert (caught.value.reason, caught.value.kind) == ("missing", "user")
    assert "appUserToken" in str(caught.value)
    no_app = invoke(forge, verifier, app_token=False)
    with pytest.raises(ForgeTokenUnavailableError) as caught:
        sender.auth(no_app)
    assert (caught.value.reason, caught.value.kind) == ("missing", "app")
    assert "appSystemToken" in str(caught.value)


def test_another_origin_is_refused_before_anything_is_sent(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    product: ProductStandIn,
    other_site: ProductStandIn,
    sender: Sender,
) -> None:
    invocation = invoke(forge, verifier)
    auth = sender.auth(invocation)
    for url in (
        other_site.forge_api_base_url + "/rest/api/3/myself",
        product.forge_api_base_url.replace("http://", "https://") + "/rest/api/3/myself",
        product.url.replace("127.0.0.1", "localhost") + "/rest/api/3/myself",
    ):
        with pytest.raises(ValueError, match="another origin"):
            sender.send("GET", url, auth)
    assert other_site.requests == [] and product.requests == []


def test_an_expired_token_is_refused_before_anything_is_sent(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, product: ProductStandIn, sender: Sender
) -> None:
    # 20 seconds left: within the 30-second margin, the product would refuse it on arrival.
    invocation = invoke(forge, verifier, token_lifetime=20)
    auth = sender.auth(invocation)
    with pytest.raises(ForgeTokenUnavailableError) as caught:
        sender.send("GET", invocation.product_url("/rest/api/3/myself"), auth)
    assert caught.value.reason == "expired"
    assert caught.value.installation_id == invocation.installation_id
    assert invocation.app_token.value not in str(caught.value)
    assert product.requests == []


def test_a_redirect_on_the_api_keeps_the_token_and_one_other_site_drops_it(
    forge: FakeForgeJWKS,
    verifier: ForgeInvocationVerifier,
    product: ProductStandIn,
    other_site: ProductStandIn,
    sender: Sender,
) -> None:
    invocation = invoke(forge, verifier)
    moved = product.forge_api_base_url + "/rest/new"
    product.respond("GET", "/rest/old", status=302, headers={"Location": moved})
    away = other_site.forge_api_base_url + "/rest/stolen"
    product.respond("GET", "/rest/new", status=307, headers={"Location": away})
    status = sender.send("GET", invocation.product_url("/rest/old"), sender.auth(invocation))
    assert status == 401  # other_site's answer to a request without credentials
    assert [(call.path, call.auth) for call in product.requests] == [
        ("/rest/old", "forge-system"),
        ("/rest/new", "forge-system"),
    ]
    [stolen] = other_site.requests
    assert stolen.target.endswith("/rest/stolen") and stolen.headers.get("Authorization") is None


def test_background_work_signs_with_the_kept_token(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, product: ProductStandIn, sender: Sender
) -> None:
    store = MemoryTenantStore(app_key=APP_KEY)
    invocation = invoke(forge, verifier)
    assert keep_app_token(invocation, store)
    auth = sender.module.ForgeAuth.for_installation(store, invocation.installation_id)
    assert auth.api_base_url == product.forge_api_base_url
    url = auth.product_url("/rest/api/3/project/search")
    assert sender.send("GET", url, auth) == 200
    assert product.requests[-1].auth == "forge-system"
    assert invocation.app_token.value not in repr(auth)
    with pytest.raises(ForgeTokenUnavailableError, match="next invocation"):
        sender.module.ForgeAuth.for_installation(store, "ari:cloud:ecosystem::installation/x")


def test_repr_shows_no_token(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> None:
    invocation = invoke(forge, verifier, account_id=ACCOUNT, user_token=True)
    for module in (requests_auth, httpx_auth):
        for as_user in (False, True):
            shown = repr(module.ForgeAuth(invocation, as_user=as_user))
            assert invocation.app_token.value not in shown
            assert invocation.user_token.value not in shown
            assert invocation.api_base_url in shown and "expires_at" in shown

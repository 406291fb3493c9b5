"""Background work and Connect on Forge: the kept app token, and the Connect tenant of an
installation, in every store of the core (the SQLAlchemy store runs the store suite too)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine

import atlassian_jwt
from atlassian_jwt import ForgeInvocationVerifier, ForgeTokenUnavailableError, encode_token
from atlassian_jwt import exceptions as exc
from atlassian_jwt.forge import connect_tenant, keep_app_token, load_app_token
from atlassian_jwt.tenants import MemoryTenantStore, SQLiteTenantStore, TenantStore
from atlassian_jwt.testing import FakeForgeJWKS, ProductStandIn
from tests.forge.conftest import installation_ari
from tests.support import APP_KEY

pytestmark = pytest.mark.extras


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TenantStore:
    if request.param == "memory":
        return MemoryTenantStore(app_key=APP_KEY)
    return SQLiteTenantStore(tmp_path / "tenants.db", app_key=APP_KEY)


Invoke = Callable[..., atlassian_jwt.ForgeInvocation]


@pytest.fixture
def invoke(forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier) -> Invoke:
    def invoke(**options: Any) -> atlassian_jwt.ForgeInvocation:
        return verifier.verify_request(forge.invocation_headers(**options))

    return invoke


# The app token, kept.


def test_an_invocations_app_token_is_kept_for_its_installation(
    invoke: Invoke, product: ProductStandIn, store: TenantStore
) -> None:
    invocation = invoke()
    assert keep_app_token(invocation, store)
    kept = load_app_token(invocation.installation_id, store)
    assert invocation.app_token is not None
    assert kept.value == invocation.app_token.value
    assert kept.expires_at == invocation.app_token.expires_at
    assert kept.api_base_url == product.forge_api_base_url


def test_the_newest_token_stays_whatever_the_order(invoke: Invoke, store: TenantStore) -> None:
    newer = invoke(token_lifetime=4 * 3600)
    older = invoke(token_lifetime=3600)
    assert keep_app_token(newer, store)
    assert not keep_app_token(older, store)
    assert newer.app_token is not None
    assert load_app_token(newer.installation_id, store).value == newer.app_token.value


def test_nothing_is_kept_without_a_usable_token(invoke: Invoke, store: TenantStore) -> None:
    without = invoke(app_token=False)
    assert not keep_app_token(without, store)
    opaque = invoke(app_token="opaque-token")  # its expiry cannot be read, so not ordered
    assert not keep_app_token(opaque, store)
    expired = invoke(now=time.time() - 3600, token_lifetime=60, lifetime=7200)
    assert expired.app_token is not None and expired.app_token.expired(margin=0)
    assert not keep_app_token(expired, store)
    assert store.get_app_token(without.installation_id) is None


def test_no_token_kept_says_the_next_invocation_brings_one(store: TenantStore) -> None:
    installation = installation_ari()
    with pytest.raises(ForgeTokenUnavailableError) as caught:
        load_app_token(installation, store)
    error = caught.value
    assert (error.code, error.reason, error.kind) == ("forge_token_unavailable", "missing", "app")
    assert error.installation_id == installation
    assert "next invocation" in str(error)
    assert not isinstance(error, atlassian_jwt.DecodeError)


def test_an_expired_kept_token_says_the_next_invocation_brings_a_fresh_one(
    invoke: Invoke, store: TenantStore
) -> None:
    invocation = invoke(token_lifetime=600)
    assert keep_app_token(invocation, store)
    assert invocation.app_token is not None and invocation.app_token.expires_at is not None
    expiry = invocation.app_token.expires_at.timestamp()
    with time_machine.travel(expiry - 31, tick=False):
        assert load_app_token(invocation.installation_id, store).value == (
            invocation.app_token.value
        )
    for moment in (expiry - 29, expiry + 1):
        with time_machine.travel(moment, tick=False):
            with pytest.raises(ForgeTokenUnavailableError) as caught:
                load_app_token(invocation.installation_id, store)
            assert caught.value.reason == "expired"
            assert caught.value.expires_at == invocation.app_token.expires_at
            assert "fresh one" in str(caught.value)
            assert invocation.app_token.value not in str(caught.value)
            assert invocation.app_token.value not in repr(caught.value)
    with time_machine.travel(expiry - 5, tick=False):
        assert load_app_token(invocation.installation_id, store, margin=0).expires_at


def test_tokens_are_kept_per_installation(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, store: TenantStore
) -> None:
    first = verifier.verify_request(forge.invocation_headers())
    other_installation = installation_ari()
    second = verifier.verify_request(
        forge.invocation_headers(installation_id=other_installation)
    )
    assert keep_app_token(first, store) and keep_app_token(second, store)
    assert first.app_token is not None and second.app_token is not None
    assert load_app_token(first.installation_id, store).value == first.app_token.value
    assert load_app_token(other_installation, store).value == second.app_token.value


def test_a_store_shared_by_processes_keeps_the_token_for_each(
    invoke: Invoke, tmp_path: Path
) -> None:
    invocation = invoke()
    keep_app_token(invocation, SQLiteTenantStore(tmp_path / "t.db", app_key=APP_KEY))
    other_process_store = SQLiteTenantStore(tmp_path / "t.db", app_key=APP_KEY)
    assert invocation.app_token is not None
    assert load_app_token(invocation.installation_id, other_process_store).value == (
        invocation.app_token.value
    )


# Connect on Forge.


def test_the_connect_tenant_of_an_invocation_signs_connect_calls(
    invoke: Invoke, product: ProductStandIn, store: TenantStore
) -> None:
    store.save(product.tenant)
    invocation = invoke()
    tenant = connect_tenant(invocation, store)
    assert tenant["clientKey"] == product.tenant["clientKey"]
    assert tenant["installationId"] == invocation.installation_id
    url = tenant["baseUrl"] + "/rest/api/3/myself"
    token = encode_token("GET", url, **tenant)
    request = urllib.request.Request(url, headers={"Authorization": f"JWT {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["auth"] == "jwt"
    assert product.requests[-1].accepted and product.requests[-1].auth == "jwt"


def test_no_connect_tenant_before_the_connect_install_or_after_the_uninstall(
    invoke: Invoke, product: ProductStandIn, store: TenantStore
) -> None:
    invocation = invoke()
    with pytest.raises(exc.ConnectTenantNotFoundError) as caught:
        connect_tenant(invocation, store)
    error = caught.value
    assert (error.code, error.installation_id) == (
        "connect_tenant_not_found",
        invocation.installation_id,
    )
    assert not isinstance(error, atlassian_jwt.DecodeError)
    store.save(product.tenant)
    assert connect_tenant(invocation, store)["clientKey"] == product.tenant["clientKey"]
    store.delete(product.tenant["clientKey"])
    with pytest.raises(exc.ConnectTenantNotFoundError):
        connect_tenant(invocation, store)


def test_another_installation_finds_no_tenant(
    forge: FakeForgeJWKS, verifier: ForgeInvocationVerifier, product: ProductStandIn
) -> None:
    store = MemoryTenantStore(app_key=APP_KEY)
    store.save(product.tenant)
    headers = forge.invocation_headers(installation_id=installation_ari())
    elsewhere = verifier.verify_request(headers)
    with pytest.raises(exc.ConnectTenantNotFoundError):
        connect_tenant(elsewhere, store)

"""The opt-in pytest plugin, run the way a user's project runs it (pytester)."""

from __future__ import annotations

import pytest

# Needs cryptography for the fixtures that make RSA keys.
pytestmark = pytest.mark.extras

pytest_plugins = ["pytester"]

OPT_IN = 'pytest_plugins = ["atlassian_jwt.testing.pytest_plugin"]\n'

USES_EVERY_FIXTURE = """
import json
import urllib.request

import atlassian_jwt
from atlassian_jwt import ForgeInvocationVerifier, InstallAuthenticator
from atlassian_jwt.tenants import MemoryTenantStore, TenantStoreAuthenticator
from atlassian_jwt.testing import product_request_headers


def test_connect(atlassian_tenant, atlassian_product):
    assert atlassian_tenant is atlassian_product.tenant
    assert atlassian_tenant["baseUrl"] == atlassian_product.base_url
    store = MemoryTenantStore()
    store.save(atlassian_tenant)
    headers = product_request_headers("GET", "/panel", atlassian_tenant)
    assert TenantStoreAuthenticator(store).authenticate("GET", "/panel", headers)


def test_install(atlassian_keys, atlassian_tenant, atlassian_app_base_url):
    assert atlassian_app_base_url == "https://my-app.example.com"
    request = atlassian_keys.lifecycle_request("installed", atlassian_tenant)
    installs = InstallAuthenticator(atlassian_app_base_url, key_provider=atlassian_keys)
    assert installs.authenticate("POST", request.path, request.headers, request.body)


def test_forge(forge_jwks, atlassian_product):
    verifier = ForgeInvocationVerifier(forge_jwks.app_id, jwks_url=forge_jwks.jwks_url)
    claims = verifier.verify(forge_jwks.invocation_headers())
    assert claims["app"]["apiBaseUrl"] == atlassian_product.forge_api_base_url


def test_outbound(atlassian_tenant, atlassian_product):
    url = atlassian_tenant["baseUrl"] + "/rest/api/3/myself"
    token = atlassian_jwt.encode_token("GET", url, **atlassian_tenant)
    request = urllib.request.Request(url, headers={"Authorization": "JWT " + token})
    with urllib.request.urlopen(request) as response:
        assert json.loads(response.read())["auth"] == "jwt"
    assert atlassian_product.requests[-1].accepted


def test_clock(atlassian_clock, atlassian_tenant):
    store = MemoryTenantStore()
    store.save(atlassian_tenant)
    headers = product_request_headers("GET", "/panel", atlassian_tenant, lifetime=60)
    atlassian_clock.advance(60 + 90)  # past exp and the Authenticator's default leeway
    try:
        TenantStoreAuthenticator(store).authenticate("GET", "/panel", headers)
    except atlassian_jwt.TokenExpiredError:
        return
    raise AssertionError("an expired token was accepted")
"""


def test_every_fixture_works_for_a_project_that_opts_in(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        OPT_IN
        + "import pytest\n"
        + "@pytest.fixture\n"
        + "def atlassian_app_base_url():\n"
        + '    return "https://my-app.example.com"\n'
    )
    pytester.makepyfile(test_app=USES_EVERY_FIXTURE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=5)


def test_no_fixture_without_opting_in(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_it(atlassian_tenant):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'atlassian_tenant' not found*"])


def test_each_test_gets_its_own_servers_stopped_after_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OPT_IN)
    pytester.makepyfile(
        test_app="""
import socket

SEEN = []


def test_first(atlassian_product, atlassian_keys, forge_jwks):
    SEEN.append((atlassian_product, atlassian_keys, forge_jwks))


def test_second(atlassian_product, atlassian_keys, forge_jwks):
    earlier = SEEN[0]
    for before, now in zip(earlier, (atlassian_product, atlassian_keys, forge_jwks)):
        assert before is not now and not before.running and now.running
        port = int(before.url.rsplit(":", 1)[1])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except ConnectionRefusedError:
            pass
        else:
            raise AssertionError("the earlier server still listens")
    assert earlier[0].tenant["sharedSecret"] != atlassian_product.tenant["sharedSecret"]
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=2)


def test_the_product_fixture_plays_confluence_when_parametrized(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OPT_IN)
    pytester.makepyfile(
        test_app="""
import pytest


@pytest.mark.parametrize("atlassian_product_type", ["jira", "confluence"])
def test_products(atlassian_product, atlassian_tenant, atlassian_product_type):
    assert atlassian_tenant["productType"] == atlassian_product_type
    wiki = atlassian_product_type == "confluence"
    assert atlassian_tenant["baseUrl"].endswith("/wiki") == wiki
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=2)


def test_the_clock_is_given_back_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OPT_IN)
    pytester.makepyfile(
        test_app="""
import time

FROZEN = []


def test_frozen(atlassian_clock):
    atlassian_clock.advance(10 * 365 * 86400)
    FROZEN.append(time.time())


def test_after():
    assert time.time() < FROZEN[0] - 300 * 86400
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=2)

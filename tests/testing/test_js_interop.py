"""The kit's Connect tokens, checked by an independent implementation: Atlassian's JS library.

npm ``atlassian-jwt`` is what atlassian-connect-express verifies Jira's and Confluence's tokens
with. The test runs ``atlassian_jwt_js_check.js`` under Node on the kit's tokens, with the
library the benchmark keeps, pinned, in ``benchmarks/.node-cache`` (``.ci/run`` installs it;
no test reaches npm). Without it the test is skipped, visibly, and fails under ``CI``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from atlassian_jwt.testing import (
    FakeAtlassianKeyServer,
    make_tenant,
    new_rsa_key,
    product_request_url,
    sign_product_request,
)
from tests import node_library
from tests.support import ACCOUNT

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

# The RS256 cases need cryptography.
pytestmark = pytest.mark.extras

CHECKER = Path(__file__).with_name("atlassian_jwt_js_check.js")
APP_BASE = "https://apps.example.com"

# Requests an app receives, as written by the product. The JS library sorts and encodes the
# query itself, so these also cross-check the qsh rules where both implementations agree.
URLS = [
    "/panel",
    "/panel?issueKey=ABC-1&projectKey=ABC",
    "/panel/?z=last&a=first&m=middle",
    "/search?jql=project%20%3D%20ABC%20ORDER%20BY%20created&maxResults=50",
    "/repeat?b=2&a=1&b=1&a=3",
    "/encoded?name=%C3%A9t%C3%A9&q=a+b&star=%2A&tilde=~&comma=a%2Cb",
    "/path%20with%20space/and&amp?x=1",
    "/blank?a=&b=",
    "/iframe?xdm_e=https%3A%2F%2Fexample.atlassian.net&xdm_c=channel-panel&cp=&lic=none"
    "&cv=1001.0.0-SNAPSHOT&tz=Europe%2FBerlin&loc=en-US&user_locale=en-US",
]


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[RSAPrivateKey, RSAPrivateKey]:
    return new_rsa_key(), new_rsa_key()


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """The JS library, as the benchmark installed it (see tests/node_library.py)."""
    return node_library.node_modules()


def js_check(node_modules: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, str(CHECKER)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(node_modules)},
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert len(results) == len(cases)
    return results


def request_case(tenant: dict[str, Any], method: str, url: str, token: str) -> dict[str, Any]:
    return {
        "token": token,
        "secret": tenant["sharedSecret"],
        "method": method,
        "url": url,
        "appBaseUrl": APP_BASE,
    }


def test_request_tokens_verify_with_the_js_library(node_modules: Path) -> None:
    tenant = make_tenant()
    users: dict[str, dict[str, Any]] = {"GET": {"account_id": ACCOUNT}, "POST": {}}
    cases = [
        request_case(tenant, method, url, sign_product_request(method, url, tenant, **options))
        for url in URLS
        for method, options in users.items()
    ]
    for result, case in zip(js_check(node_modules, cases), cases):
        assert "error" not in result, (case["url"], result)
        assert result["version"] == node_library.NODE_VERSION
        claims = result["claims"]
        assert claims["qsh"] == result["qsh"], (case["method"], case["url"], result["canonical"])
        assert claims["iss"] == tenant["clientKey"]
        assert claims.get("sub") == (ACCOUNT if case["method"] == "GET" else None)
        assert claims["iat"] <= result["now"] < claims["exp"]


def test_iframe_urls_and_base_paths_verify_with_the_js_library(node_modules: Path) -> None:
    tenant = make_tenant()
    base = f"{APP_BASE}/my-app"
    cases = []
    for url in ("/my-app/panel?issueKey=ABC-1", "/my-app/dialog/?b=2&a=1"):
        signed = product_request_url("GET", url, tenant, app_base_url=base)
        token = signed.rpartition("jwt=")[2]
        # The JS library drops jwt= from the query, as the product does.
        cases.append({**request_case(tenant, "GET", signed, token), "appBaseUrl": base})
    for result in js_check(node_modules, cases):
        assert "error" not in result and result["claims"]["qsh"] == result["qsh"]
        assert not result["canonical"].split("&")[1].startswith("/my-app")


def test_context_tokens_with_the_js_library(node_modules: Path) -> None:
    tenant = make_tenant()
    token = sign_product_request("GET", "/any", tenant, context_qsh=True, account_id=ACCOUNT)
    (result,) = js_check(node_modules, [request_case(tenant, "POST", "/api/data", token)])
    assert result["claims"]["qsh"] == "context-qsh" and result["claims"]["sub"] == ACCOUNT


def test_install_tokens_verify_with_the_js_library(
    node_modules: Path, rsa_keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    keys = FakeAtlassianKeyServer(f"{APP_BASE}/my-app", private_key=rsa_keys[0])
    tenant = make_tenant()
    cases = []
    for event in ("installed", "uninstalled"):
        request = keys.lifecycle_request(event, tenant)
        cases.append(
            {
                "token": request.token,
                "publicKey": keys.public_pem(),
                "method": request.method,
                "url": request.url,
                "appBaseUrl": keys.app_base_url,
            }
        )
    for result in js_check(node_modules, cases):
        assert "error" not in result
        claims = result["claims"]
        assert claims["qsh"] == result["qsh"] and claims["iss"] == tenant["clientKey"]
        # What atlassian-connect-express and Atlassian's own apps compare: aud[0].
        assert claims["aud"][0] == keys.app_base_url


def test_the_js_check_can_fail(
    node_modules: Path, rsa_keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    tenant, other = make_tenant(), make_tenant()
    keys = FakeAtlassianKeyServer(APP_BASE, private_key=rsa_keys[0])
    install = keys.lifecycle_request("installed", tenant)
    cases = [
        # signed with another tenant's secret
        request_case(tenant, "GET", "/panel", sign_product_request("GET", "/panel", other)),
        # signed for another request
        request_case(
            tenant, "GET", "/panel?x=2", sign_product_request("GET", "/panel?x=1", tenant)
        ),
        # an install token checked with another key
        {
            "token": install.token,
            "publicKey": FakeAtlassianKeyServer(APP_BASE, private_key=rsa_keys[1]).public_pem(),
            "method": "POST",
            "url": install.url,
            "appBaseUrl": APP_BASE,
        },
    ]
    bad_secret, other_request, bad_key = js_check(node_modules, cases)
    assert "ignature" in bad_secret["error"]
    assert other_request["claims"]["qsh"] != other_request["qsh"]
    assert "ignature" in bad_key["error"]

"""``atlassian-jwt verify`` for signed install callbacks (RS256), as installed.

A generated RSA key stands in for Atlassian's: given with ``--key-file``, or served by a key
server on 127.0.0.1 for ``--key-server-url``. No other network.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
import pytest

from atlassian_jwt.testing import (
    FakeAtlassianKeyServer,
    FakeForgeJWKS,
    new_rsa_key,
    public_pem,
    refused_url,
)
from atlassian_jwt.url_utils import hash_url
from tests.support import CLIENT_KEY, SECRET
from tests.test_cli import STATUS, assert_nothing_leaked, cli, run

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.extras

KID = "0e50fccb-239d-4991-a5db-dc850ba3f236"
APP_BASE = "https://apps.example.com/my-app"
INSTALLED = f"{APP_BASE}/installed"


@pytest.fixture(scope="module")
def atlassian_key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture
def key_file(tmp_path: Path, atlassian_key: rsa.RSAPrivateKey) -> str:
    path = tmp_path / "atlassian.pem"
    path.write_text(public_pem(atlassian_key))
    return str(path)


@pytest.fixture
def body_file(tmp_path: Path) -> str:
    path = tmp_path / "installed.json"
    path.write_text(
        json.dumps({"clientKey": CLIENT_KEY, "sharedSecret": SECRET, "eventType": "installed"})
    )
    return str(path)


@pytest.fixture
def server(atlassian_key: rsa.RSAPrivateKey) -> Iterator[FakeAtlassianKeyServer]:
    """Atlassian's key server, publishing ``atlassian_key`` as ``KID``."""
    with FakeAtlassianKeyServer(APP_BASE, private_key=atlassian_key, kid=KID) as keys:
        yield keys


def install_token(key: rsa.RSAPrivateKey, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": CLIENT_KEY,
        "iat": now,
        "exp": now + 180,
        "aud": APP_BASE,
        "qsh": hash_url("POST", INSTALLED, APP_BASE),
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KID})


def verify_args(token: str, *options: str) -> list[str]:
    return ["verify", token, "--method", "POST", "--url", INSTALLED, "--app-base-url", APP_BASE,
            *options]  # fmt: skip


def test_valid_install_token_with_key_file_and_body_file(
    atlassian_key: rsa.RSAPrivateKey, key_file: str, body_file: str
) -> None:
    token = install_token(atlassian_key)
    result = run(*verify_args(token, "--key-file", key_file, "--body-file", body_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("valid: install token (RS256 with kid: a signed install")
    assert f"iss {CLIENT_KEY}" in result.stdout
    assert_nothing_leaked(result.stdout + result.stderr, token)


@pytest.mark.parametrize(
    ("claims", "code"),
    [
        ({"aud": "https://someone-else.example.com"}, "invalid_audience"),
        ({"iss": "another-tenant"}, "invalid_issuer"),
    ],
)
def test_install_rejections_as_installed(
    atlassian_key: rsa.RSAPrivateKey, key_file: str, claims: dict[str, Any], code: str
) -> None:
    token = install_token(atlassian_key, **claims)
    result = run(*verify_args(token, "--key-file", key_file, "--client-key", CLIENT_KEY, "--json"))
    assert result.returncode == STATUS[code]
    output = json.loads(result.stdout)
    assert (output["valid"], output["code"]) == (False, code)
    assert_nothing_leaked(result.stdout + result.stderr, token)


@pytest.mark.parametrize(
    ("claims", "key", "code"),
    [
        ({"aud": None}, "atlassian", "missing_claim"),
        ({"exp": int(time.time()) - 3600}, "atlassian", "token_expired"),
        ({"qsh": hash_url("POST", "/uninstalled")}, "atlassian", "qsh_mismatch"),
        ({}, "other", "invalid_signature"),
    ],
)
def test_install_rejections(
    atlassian_key: rsa.RSAPrivateKey,
    key_file: str,
    body_file: str,
    claims: dict[str, Any],
    key: str,
    code: str,
) -> None:
    signer = atlassian_key if key == "atlassian" else new_rsa_key()
    token = install_token(signer, **claims)
    status, out, err = cli(*verify_args(token, "--key-file", key_file, "--body-file", body_file))
    assert status == STATUS[code]
    assert err.startswith(f"rejected, {code} (exit status {status}): ")
    assert_nothing_leaked(out + err, token)


def test_key_server_statuses(
    atlassian_key: rsa.RSAPrivateKey, server: FakeAtlassianKeyServer
) -> None:
    token = install_token(atlassian_key)
    base = verify_args(token, "--client-key", CLIENT_KEY, "--key-server-url")
    assert run(*base, server.url).returncode == 0
    assert server.hits[f"/{KID}"] == 1

    server.remove_key(KID)  # 404: Atlassian has no such key
    result = run(*base, server.url)
    assert result.returncode == STATUS["unknown_key"]
    assert result.stderr.startswith("rejected, unknown_key (exit status 25): ")

    result = run(*base, refused_url())  # the key server cannot be reached: retry later
    assert result.returncode == STATUS["key_fetch_failed"]
    assert result.stderr.startswith("not verified, key_fetch_failed (exit status 3): ")


def test_rs256_options_are_checked(
    atlassian_key: rsa.RSAPrivateKey, key_file: str, tmp_path: Path
) -> None:
    token = install_token(atlassian_key)
    usage = [
        verify_args(token, "--key-file", key_file),  # neither body nor client key
        verify_args(token, "--key-file", key_file, "--client-key", CLIENT_KEY, "--secret-env", "X"),
        ["verify", token, "--method", "POST", "--url", INSTALLED, "--key-file", key_file,
         "--client-key", CLIENT_KEY],  # no app base URL
        verify_args(token, "--secret-env", "SHARED_SECRET"),  # app base URL without a key
        verify_args(token, "--key-server", "test", "--client-key", CLIENT_KEY),
    ]  # fmt: skip
    for args in usage:
        with pytest.raises(SystemExit) as exited:
            cli(*args)
        assert exited.value.code == 2, args

    not_a_key = tmp_path / "not-a-key.pem"
    not_a_key.write_text("hello")
    status, _, err = cli(*verify_args(token, "--key-file", str(not_a_key), "--client-key", "c"))
    assert status == 1 and err.startswith(f"error: the key file {not_a_key} is not usable")
    status, _, err = cli(
        *verify_args(token, "--key-server-url", "ftp://keys.example.com", "--client-key", "c")
    )
    assert status == 1 and "https://" in err


# Forge invocation tokens, against a key set on 127.0.0.1.

APP_ID = "8db8e2c8-1b2d-4f3e-9a6b-0c1d2e3f4a5b"
FORGE_KID = "forge/invocation-token/2024-01"
JWKS = "/.well-known/jwks.json"


def forge_token(key: rsa.RSAPrivateKey, kid: str = FORGE_KID, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": "forge/invocation-token",
        "aud": f"ari:cloud:ecosystem::app/{APP_ID}",
        "iat": now,
        "exp": now + 300,
        "app": {"installationId": "ari:cloud:ecosystem::installation/1"},
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def forge_server(atlassian_key: rsa.RSAPrivateKey) -> Iterator[FakeForgeJWKS]:
    """Forge's key set, publishing ``atlassian_key`` as ``FORGE_KID`` at ``JWKS``."""
    with FakeForgeJWKS(APP_ID, private_key=atlassian_key, kid=FORGE_KID) as forge:
        assert forge.jwks_url == forge.url + JWKS
        yield forge


def test_forge_token_as_installed(
    atlassian_key: rsa.RSAPrivateKey, forge_server: FakeForgeJWKS
) -> None:
    jwks = ["--jwks-url", forge_server.url + JWKS]
    token = forge_token(atlassian_key)
    result = run("verify", f"Bearer {token}", "--forge-app-id", APP_ID, *jwks, "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["kind"] == "forge" and output["client_key"] is None
    assert output["claims"]["app"]["installationId"] == "ari:cloud:ecosystem::installation/1"
    assert_nothing_leaked(result.stdout + result.stderr, token)

    other_app = forge_token(atlassian_key, aud="ari:cloud:ecosystem::app/another-app")
    result = run("verify", other_app, "--forge-app-id", APP_ID, *jwks)
    assert result.returncode == STATUS["invalid_audience"]
    assert result.stderr.startswith("rejected, invalid_audience (exit status 21): ")


def test_forge_rejections(atlassian_key: rsa.RSAPrivateKey, forge_server: FakeForgeJWKS) -> None:
    base = ["verify", "--forge-app-id", f"ari:cloud:ecosystem::app/{APP_ID}"]
    jwks = ["--jwks-url", forge_server.url + JWKS]
    cases = {
        "invalid_issuer": forge_token(atlassian_key, iss="someone"),
        "token_expired": forge_token(atlassian_key, exp=int(time.time()) - 3600),
        "unknown_key": forge_token(atlassian_key, kid="made-up"),
        "invalid_signature": forge_token(new_rsa_key()),
    }
    for code, token in cases.items():
        status, out, err = cli(*base, token, *jwks)
        assert status == STATUS[code], (code, err)
        assert_nothing_leaked(out + err, token)
    token = forge_token(atlassian_key)
    status, _, err = cli(*base, token, "--jwks-url", refused_url() + JWKS)
    assert status == STATUS["key_fetch_failed"]
    assert err.startswith("not verified, key_fetch_failed (exit status 3): Could not fetch")


def test_forge_options_are_checked(atlassian_key: rsa.RSAPrivateKey) -> None:
    token = forge_token(atlassian_key)
    usage = [
        ["verify", token, "--forge-app-id", APP_ID, "--method", "GET", "--url", "/x"],
        ["verify", token, "--forge-app-id", APP_ID, "--secret-env", "SHARED_SECRET"],
        ["verify", token, "--forge-app-id", APP_ID, "--key-file", "k.pem"],
        ["verify", token, "--method", "GET", "--url", "/x", "--jwks-url", "https://k.example"],
        ["verify", token, "--secret-env", "SHARED_SECRET"],  # no --method or --url
    ]
    for args in usage:
        with pytest.raises(SystemExit) as exited:
            cli(*args)
        assert exited.value.code == 2, args
    status, _, err = cli("verify", token, "--forge-app-id", "not an id!")
    assert status == 1 and "app_id" in err

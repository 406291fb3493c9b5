"""Verify a signed ``installed`` callback before storing the tenant's shared secret.

Run it with ``python examples/signed_install.py`` (needs the ``crypto`` extra: ``cryptography``).
No network: the script makes its own RSA key and signs the callback as Atlassian would, then
verifies it as the app does, with the public key pinned in a ``StaticKeyProvider`` (an app in
production uses the default ``AtlassianKeyProvider``, which fetches Atlassian's key by ``kid``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import atlassian_jwt
from atlassian_jwt.url_utils import canonicalize_request, hash_url

APP_BASE_URL = "https://apps.example.com/my-app"  # the descriptor's baseUrl
KID = "0e50fccb-239d-4991-a5db-dc850ba3f236"


def atlassian_signs(private_key: Any, body: dict[str, Any], audience: str) -> dict[str, str]:
    """What Jira does: an RS256 token naming its key, addressed to the app, bound to the URL."""
    now = int(time.time())
    claims = {
        "iss": body["clientKey"],
        "aud": audience,
        "iat": now,
        "exp": now + 180,
        "qsh": hash_url("POST", f"{audience}/installed", audience),
    }
    token = jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": KID})
    return {"Authorization": f"JWT {token}", "Content-Type": "application/json"}


def main() -> None:
    atlassian_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = atlassian_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    installs = atlassian_jwt.InstallAuthenticator(
        APP_BASE_URL, key_provider=atlassian_jwt.StaticKeyProvider({KID: public_pem})
    )
    tenants: dict[str, dict[str, Any]] = {}

    def installed(url: str, headers: dict[str, str], body: bytes) -> str:
        """The app's installed route: verify first, store only afterwards."""
        try:
            client_key, _ = installs.authenticate("POST", url, headers, body)
        except atlassian_jwt.KeyFetchError:
            return "503: Atlassian's key server is unreachable; Atlassian will retry"
        except atlassian_jwt.TokenRejectedError as error:  # every DecodeError we raise
            return f"401: rejected, {error.code}"
        tenants[client_key] = json.loads(body)  # a reinstall replaces the old secret
        return f"204: stored tenant {client_key}"

    url = f"{APP_BASE_URL}/installed"
    body = {
        "key": "com.example.my-app",
        "clientKey": "jira:7c6b1a3e-2f0d-4e9a-9b1c-1d2e3f4a5b6c",
        "sharedSecret": "the-tenants-shared-secret-which-is-never-printed-or-logged-anywhere",
        "baseUrl": "https://example.atlassian.net",
        "eventType": "installed",
    }
    print("canonical request:", canonicalize_request("POST", url, APP_BASE_URL))
    print(
        "genuine install:  ",
        installed(
            url, atlassian_signs(atlassian_key, body, APP_BASE_URL), json.dumps(body).encode()
        ),
    )

    # Atlassian signed this one too, but for another vendor's app, which replays it to us
    # with a secret of its choosing: the aud check refuses it, and nothing is stored.
    replayed = {**body, "sharedSecret": "a-secret-the-attacker-chose-for-the-tenant-so-it-can-sign"}
    headers = atlassian_signs(atlassian_key, replayed, "https://evil.example.net")
    print("replayed install: ", installed(url, headers, json.dumps(replayed).encode()))
    stored = tenants[body["clientKey"]]["sharedSecret"] == body["sharedSecret"]
    print("stored secret is the genuine one:", stored)


if __name__ == "__main__":
    main()

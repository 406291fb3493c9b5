"""Sign a Jira REST call as an app would, verify it as a product would, and show the qsh.

Run it with ``python examples/quickstart.py``. Everything happens in this process: the tenant
below is what Jira sends to an app's ``installed`` callback.
"""

from __future__ import annotations

from typing import Any

import atlassian_jwt
from atlassian_jwt.url_utils import canonicalize_request, hash_url

TENANT: dict[str, Any] = {
    "key": "com.example.quickstart",
    "clientKey": "jira:7c6b1a3e-2f0d-4e9a-9b1c-1d2e3f4a5b6c",
    "sharedSecret": "a-quickstart-shared-secret-that-is-64-characters-long-for-hmac!!",
    "baseUrl": "https://example.atlassian.net",
    "productType": "jira",
}


class JiraSide(atlassian_jwt.Authenticator):
    """How Jira finds the secret for a token signed by an app: by the app key in ``iss``."""

    def get_shared_secret(self, client_key: str) -> str | None:
        return str(TENANT["sharedSecret"]) if client_key == TENANT["key"] else None


def main() -> None:
    method = "GET"
    url = "https://example.atlassian.net/rest/api/3/search?jql=project = DEMO&maxResults=5"

    token = atlassian_jwt.encode_token(method, url, **TENANT)
    print("canonical request:", canonicalize_request(method, url, TENANT["baseUrl"]))
    print("qsh:              ", hash_url(method, url, TENANT["baseUrl"]))

    result = JiraSide().authenticate(method, url, {"Authorization": f"JWT {token}"})
    print(
        "verified:          iss =",
        result.client_key,
        "| qsh matches =",
        result.claims["qsh"] == hash_url(method, url),
    )

    try:
        JiraSide().authenticate(
            method, url.replace("DEMO", "OTHER"), {"Authorization": f"JWT {token}"}
        )
    except atlassian_jwt.QshMismatchError as error:
        print("tampered URL:      rejected,", error.code, "- we computed", error.canonical_request)


if __name__ == "__main__":
    main()

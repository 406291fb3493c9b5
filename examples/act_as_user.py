"""Call the product as a user: exchange an assertion for an access token, then use it.

Run it with ``python examples/act_as_user.py``. It runs offline: a stand-in for Atlassian's
authorization server and for Jira listens on 127.0.0.1 in a thread. In an app, drop the stand-in:
``TokenProvider()`` talks to Atlassian's authorization server, and the tenant is what Jira sent
to the ``installed`` callback, with its real ``baseUrl``.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

import atlassian_jwt
from atlassian_jwt.oauth2 import TokenProvider

TENANT: dict[str, Any] = {
    "key": "com.example.act-as-user",
    "clientKey": "jira:7c6b1a3e-2f0d-4e9a-9b1c-1d2e3f4a5b6c",
    "oauthClientId": "oXdQeM4uyhE1y5kMM5bFoLUwbArxwxJQ",
    "sharedSecret": "an-act-as-user-shared-secret-that-is-64-characters-long-for-hmac",
    "baseUrl": "",  # the stand-in's address, set in main()
}
ACCOUNT_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"


class StandIn(BaseHTTPRequestHandler):
    """Atlassian's side: POST /oauth2/token issues tokens, GET /rest/api/3/myself checks them."""

    issued: dict[str, str] = {}  # access token -> account id

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"]))))
        try:
            claims = jwt.decode(
                form[b"assertion"],
                TENANT["sharedSecret"],
                algorithms=["HS256"],
                audience=TENANT["baseUrl"],  # the stand-in is the authorization server too
                issuer=f"urn:atlassian:connect:clientid:{TENANT['oauthClientId']}",
            )
        except (KeyError, jwt.PyJWTError):
            self.reply(400, {"error": "invalid_grant"})
            return
        token = f"access-token-{len(self.issued) + 1}"
        self.issued[token] = claims["sub"].removeprefix("urn:atlassian:connect:useraccountid:")
        print("  authorization server: scope", form[b"scope"].decode(), "for", claims["sub"])
        self.reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 900})

    def do_GET(self) -> None:  # noqa: N802
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.issued:
            self.reply(200, {"accountId": self.issued[token]})
        else:
            self.reply(401, {"message": "Unauthorized"})

    def reply(self, status: int, body: dict[str, Any]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body).encode())

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    TENANT["baseUrl"] = f"http://127.0.0.1:{server.server_address[1]}"

    # One provider per process: it caches tokens per tenant, user and scopes.
    provider = TokenProvider(authorization_server=TENANT["baseUrl"])

    token = provider.get_token(TENANT, ACCOUNT_ID, scopes=("read", "act_as_user"))
    request = urllib.request.Request(
        TENANT["baseUrl"] + "/rest/api/3/myself",
        headers={"Authorization": token.authorization},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        print("GET /rest/api/3/myself ->", response.status, json.load(response))

    again = provider.get_token(TENANT, ACCOUNT_ID, scopes=("READ", "ACT_AS_USER"))
    print("second get_token: cached =", again is token)

    wrong = {**TENANT, "clientKey": "another-tenant", "sharedSecret": "x" * 64}
    try:
        provider.get_token(wrong, ACCOUNT_ID)
    except atlassian_jwt.TokenExchangeError as error:
        print("wrong secret: TokenExchangeError,", error.status, error.oauth_error)

    server.shutdown()
    server.server_close()


if __name__ == "__main__":
    main()

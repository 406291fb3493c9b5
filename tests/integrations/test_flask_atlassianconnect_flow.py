"""Flask-AtlassianConnect 0.0.5's request flow, its calls reproduced, against this package.

Flask-AtlassianConnect (PyPI ``flask-atlassianconnect``, 2017; it depends on
``atlassian-jwt``) handles every module, web panel and webhook request the same way: it
builds its ``Authenticator`` subclass with one keyword argument of its own, calls
``client_key = auth.authenticate(request.method, request.url, request.headers)`` and looks
the client up with ``clients.get(client_key)``; its pages get a URL to post back to, signed
with ``encode_token("POST", request.path + "?" + urlencode(args), client.clientKey,
client.sharedSecret)``. Against 3.0.0 the lookup raised ``TypeError: unhashable type:
'dict'``, so every authenticated request of such an app failed (issue 13).

The app below makes exactly those calls, with Flask's test client standing in for Jira.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask, abort, g, request
from flask.testing import FlaskClient

import atlassian_jwt
from atlassian_jwt import encode_token
from atlassian_jwt.testing import sign_product_request
from tests.support import CLIENT_KEY, SECRET

pytestmark = pytest.mark.extras

PANEL = "/atlassian_connect/webpanel/employee-panel"
WEBHOOK = "/atlassian_connect/webhook/jiraissue_created"


class Client:
    """The stored tenant, as the extension keeps it: the installed payload as attributes."""

    def __init__(self, **fields: Any) -> None:
        self.clientKey: str = fields["clientKey"]
        self.sharedSecret: str = fields["sharedSecret"]
        self.baseUrl: str = fields["baseUrl"]


class ClientAuthenticator(atlassian_jwt.Authenticator):
    """The extension's subclass: its own keyword first, the base class's arguments passed on."""

    def __init__(self, clients: dict[str, Client], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clients = clients

    def get_shared_secret(self, client_key: str) -> str:
        client = self.clients.get(client_key)
        if client is None:
            raise Exception("No client for " + client_key)
        return client.sharedSecret


def make_app() -> Flask:
    app = Flask(__name__)
    # The extension lets DecodeError propagate (a 500); the tests want to see which one.
    app.config["PROPAGATE_EXCEPTIONS"] = True
    clients = {
        CLIENT_KEY: Client(
            clientKey=CLIENT_KEY, sharedSecret=SECRET, baseUrl="https://example.atlassian.net"
        )
    }
    auth = ClientAuthenticator(clients=clients)

    def authenticated_client() -> Client:
        # Untyped 1.x code: the result is the client key.
        client_key: Any = auth.authenticate(request.method, request.url, request.headers)
        client: Client | None = clients.get(client_key)
        if not client:
            abort(401)
        g.ac_client = client
        return client

    @app.route("/atlassian_connect/webpanel/<key>", methods=["GET", "POST"])
    def webpanel(key: str) -> dict[str, Any]:
        client = authenticated_client()
        # The URL the page posts back to, signed for the same page without its jwt.
        args = request.args.copy()
        args.pop("jwt", None)
        signature = encode_token(
            "POST",
            request.path + "?" + urlencode(args),
            g.ac_client.clientKey,
            g.ac_client.sharedSecret,
        )
        args["jwt"] = signature
        return {
            "client": client.clientKey,
            "panel": key,
            "issue": request.args["issueKey"],
            "post_url": request.path + "?" + urlencode(args),
        }

    @app.route("/atlassian_connect/webhook/<event>", methods=["POST"])
    def webhook(event: str) -> dict[str, Any]:
        client = authenticated_client()
        return {"client": client.clientKey, "event": event, "body": request.get_json()}

    return app


def jira_token(method: str, url: str) -> str:
    """A token as Jira signs an iframe load or a webhook: ``iss`` is the client key."""
    return sign_product_request(method, url, {"clientKey": CLIENT_KEY, "sharedSecret": SECRET})


@pytest.fixture
def client() -> FlaskClient:
    return make_app().test_client()


def test_regression_flask_atlassianconnect_looks_its_client_up_with_the_result(
    client: FlaskClient,
) -> None:
    page = f"{PANEL}?issueKey=DEMO-1"
    response = client.get(f"{page}&jwt={jira_token('GET', page)}")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["client"] == CLIENT_KEY and response.json["issue"] == "DEMO-1"


def test_the_signed_post_back_url_verifies(client: FlaskClient) -> None:
    page = f"{PANEL}?issueKey=DEMO-1"
    page_json = client.get(f"{page}&jwt={jira_token('GET', page)}").json
    assert page_json is not None
    post_url = page_json["post_url"]
    assert post_url.startswith(f"{PANEL}?issueKey=DEMO-1&jwt=")
    response = client.post(post_url, data={"comment": "seen"})
    assert response.status_code == 200
    assert response.json is not None and response.json["client"] == CLIENT_KEY


def test_webhook_with_authorization_header(client: FlaskClient) -> None:
    headers = {"Authorization": f"JWT {jira_token('POST', WEBHOOK)}"}
    response = client.post(WEBHOOK, json={"issue": {"key": "DEMO-2"}}, headers=headers)
    assert response.status_code == 200
    assert response.json == {
        "client": CLIENT_KEY,
        "event": "jiraissue_created",
        "body": {"issue": {"key": "DEMO-2"}},
    }


def test_a_tampered_request_is_still_rejected(client: FlaskClient) -> None:
    page = f"{PANEL}?issueKey=DEMO-1"
    with pytest.raises(atlassian_jwt.QshMismatchError):
        client.get(f"{PANEL}?issueKey=DEMO-666&jwt={jira_token('GET', page)}")

"""The example app as a real server process, with the testing kit playing Atlassian around it.

A fake key server signs the ``installed`` callback with an RSA key of its own, as Atlassian
does, and serves its public half; the tenant's ``baseUrl`` is a stand-in Jira on 127.0.0.1
that verifies every call the app makes back to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

from atlassian_jwt.testing import FakeAtlassianKeyServer, ProductStandIn, sign_product_request
from tests.support import assert_outbound_tokens

pytestmark = pytest.mark.extras

ROOT = Path(__file__).parent.parent.parent
ATTACKER_SECRET = "an-attacker-chosen-shared-secret-that-is-long-enough-for-hs256!!"


class Atlassian(NamedTuple):
    """What the test knows as Atlassian: its key server, the app, the product."""

    keys: FakeAtlassianKeyServer
    app: str  # the app's base URL
    jira: ProductStandIn

    def install_token(self, event: str, *, aud: str | None = None) -> str:
        """A signed ``installed`` or ``uninstalled`` token, as Atlassian makes it."""
        request = self.keys.lifecycle_request(
            event,
            self.jira.tenant,
            app_base_url=self.app,
            lifetime=60,
            claims={"aud": [aud]} if aud else None,
        )
        return request.token

    def signed(
        self, method: str, url: str, *, secret: str | None = None, context: bool = False
    ) -> str:
        """A token as Jira signs requests to the app (or a context token), with the tenant's
        secret or ``secret``."""
        tenant = {**self.jira.tenant, **({"sharedSecret": secret} if secret else {})}
        return sign_product_request(
            method, url, tenant, account_id="account-id-1", lifetime=60, context_qsh=context
        )

    def lifecycle(self, event: str, token: str | None = None, **changes: Any) -> int:
        body: dict[str, Any] = {**self.jira.tenant, "eventType": event, **changes}
        headers = {"Authorization": f"JWT {token}"} if token else {}
        response = requests.post(f"{self.app}/{event}", json=body, headers=headers, timeout=5)
        return response.status_code

    def get(self, path: str, token: str, **kwargs: Any) -> requests.Response:
        return requests.get(
            self.app + path, headers={"Authorization": f"JWT {token}"}, timeout=5, **kwargs
        )

    def webhook(self, issue_key: str, summary: str, *, secret: str | None = None) -> int:
        path = "/webhooks/issue-created"
        issue = {"key": issue_key, "fields": {"summary": summary}}
        body: dict[str, Any] = {"webhookEvent": "jira:issue_created", "issue": issue}
        headers = {"Authorization": f"JWT {self.signed('POST', path, secret=secret)}"}
        response = requests.post(self.app + path, json=body, headers=headers, timeout=5)
        return response.status_code


@contextmanager
def example_app(env: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """``python -m examples.flask_app --port 0``: its URL and its log lines; always stopped."""
    process = subprocess.Popen(
        [sys.executable, "-m", "examples.flask_app", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    logs: list[str] = []
    assert process.stdout is not None and process.stderr is not None
    stdout = process.stdout
    # Drained as it comes, so that a full pipe never blocks the server.
    drain = threading.Thread(target=lambda: logs.extend(process.stderr or ()), daemon=True)
    drain.start()
    # The first line names the address served; read with a deadline, never forever.
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(stdout.readline()), daemon=True)
    reader.start()
    try:
        reader.join(timeout=30)
        line = first[0] if first else ""
        if not line.startswith("Serving on "):
            raise AssertionError(f"the app did not start: {line!r}\n{''.join(logs)}")
        yield line.split()[2].rstrip(";"), logs
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        drain.join(timeout=5)
        process.stdout.close()
        process.stderr.close()


@pytest.fixture(scope="module", params=["sqlite-file", "database-url"])
def atlassian(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Atlassian]:
    database = tmp_path_factory.mktemp("example") / "tenants.db"
    # No APP_BASE_URL: the address served. The SQLite file by default, or a database URL (the
    # SQLAlchemy store, as for PostgreSQL; here on SQLite, so that it runs anywhere).
    env = {"TENANTS_DB": str(database), "APP_BASE_URL": "", "DATABASE_URL": ""}
    if request.param == "database-url":
        env["DATABASE_URL"] = f"sqlite:///{database}"
    app_key = json.loads((ROOT / "examples" / "flask_app" / "atlassian-connect.json").read_text())
    with ProductStandIn(app_key=app_key["key"]) as jira, FakeAtlassianKeyServer() as keys:
        env["ATLASSIAN_INSTALL_KEYS"] = keys.url
        with example_app(env) as (base_url, logs):
            yield Atlassian(keys, base_url, jira)
    assert_outbound_tokens(jira)
    text = "".join(logs)
    store = "SQLAlchemyTenantStore" if env["DATABASE_URL"] else "SQLiteTenantStore"
    assert f"Tenants are kept in a {store}" in text
    assert "/installed" in text  # the requests were logged...
    assert jira.tenant["sharedSecret"] not in text and "eyJ" not in text  # ...no secret or token


def test_the_descriptor_names_the_app_and_its_routes(atlassian: Atlassian) -> None:
    descriptor = requests.get(atlassian.app + "/atlassian-connect.json", timeout=5).json()
    assert descriptor["baseUrl"] == atlassian.app
    assert descriptor["apiMigrations"]["signed-install"] is True
    assert descriptor["lifecycle"]["installed"] == "/installed"


def test_a_connect_app_lifecycle_end_to_end(atlassian: Atlassian) -> None:
    jira = atlassian.jira
    # Before any install, the tenant is unknown.
    assert atlassian.webhook("DEMO-1", "Too early") == 401

    # Unsigned, or signed by another app's audience: refused, nothing stored.
    assert atlassian.lifecycle("installed") == 401
    other_app = atlassian.install_token("installed", aud="https://other-app.example.com")
    assert atlassian.lifecycle("installed", other_app) == 401
    assert atlassian.webhook("DEMO-1", "Still too early") == 401

    # A signed install stores the tenant.
    assert atlassian.lifecycle("installed", atlassian.install_token("installed")) == 204

    # An HS256 webhook signed with the tenant's secret.
    assert atlassian.webhook("DEMO-7", "Fix the login page") == 204

    # An unsigned installed that tries to take the tenant over with another secret: refused,
    # and the secret it tried to plant opens nothing.
    assert atlassian.lifecycle("installed", sharedSecret=ATTACKER_SECRET) == 401
    hs256 = atlassian.signed("POST", "/installed", secret=ATTACKER_SECRET)
    assert atlassian.lifecycle("installed", hs256, sharedSecret=ATTACKER_SECRET) == 401
    assert atlassian.webhook("DEMO-8", "Forged", secret=ATTACKER_SECRET) == 401

    # The iframe load, ?jwt= bound to the page's URL and its parameters.
    # (with the context parameters Jira adds to an iframe URL, encoded as it encodes them)
    page = (
        "/issue-panel?issueKey=DEMO-7&xdm_e=https%3A%2F%2Fexample.atlassian.net&cp=%2Fjira"
        "&tz=Europe%2FBerlin&loc=en-US&user_id=a+b&lic=none"
    )
    token = atlassian.signed("GET", page)
    iframe = requests.get(f"{atlassian.app}{page}&jwt={token}", timeout=5)
    assert iframe.status_code == 200
    assert "DEMO-7" in iframe.text and "Fix the login page" in iframe.text
    assert "DEMO-8" not in iframe.text
    tampered = requests.get(f"{atlassian.app}/issue-panel?issueKey=DEMO-9&jwt={token}", timeout=5)
    assert tampered.status_code == 401

    # The page's script calls the app with a context token; the app calls Jira back.
    context = atlassian.signed("GET", "/", context=True)
    before = len(jira.requests)
    summary = atlassian.get("/api/issue-summary", context, params={"issueKey": "DEMO-7"})
    assert summary.status_code == 200
    assert summary.json()["issueKey"] == "DEMO-7"
    [call] = jira.requests[before:]
    assert (call.method, call.target, call.status) == (
        "GET",
        "/rest/api/3/issue/DEMO-7?fields=summary",
        200,  # the stand-in Jira verified the app's token
    )

    # A context token is refused where it is not allowed: page, webhook, lifecycle.
    assert atlassian.get(page, context).status_code == 401
    webhook_with_context = requests.post(
        atlassian.app + "/webhooks/issue-created",
        json={},
        headers={"Authorization": f"JWT {context}"},
        timeout=5,
    )
    assert webhook_with_context.status_code == 401
    assert atlassian.lifecycle("installed", context) == 401

    # A signed uninstall removes the tenant: its secret opens nothing any more.
    assert atlassian.lifecycle("uninstalled", atlassian.install_token("uninstalled")) == 204
    assert atlassian.webhook("DEMO-10", "After uninstall") == 401
    assert atlassian.get("/api/issue-summary?issueKey=DEMO-7", context).status_code == 401

    # A new install starts afresh: the app forgot the tenant's issues when it was uninstalled.
    assert atlassian.lifecycle("installed", atlassian.install_token("installed")) == 204
    fresh = requests.get(f"{atlassian.app}{page}&jwt={atlassian.signed('GET', page)}", timeout=5)
    assert fresh.status_code == 200
    assert "DEMO-7" in fresh.text  # the issue the page is about...
    assert "Fix the login page" not in fresh.text  # ...but no longer a recent webhook's

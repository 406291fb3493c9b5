"""The example app as a real server process, with the testing kit playing Atlassian around it.

``python -m examples.flask_app`` runs on 127.0.0.1, configured through its environment only:
its install keys are a :class:`FakeAtlassianKeyServer`'s (``ATLASSIAN_INSTALL_KEYS``), its
Forge key set a :class:`FakeForgeJWKS`'s (``FORGE_JWKS``, ``FORGE_APP_ID``). Each test's site is
a :class:`ProductStandIn` with the app installed under a Forge manifest: the Connect tenant's
``baseUrl`` and the Forge invocations' ``apiBaseUrl`` both lead to it, and it verifies every
call the app makes back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
import requests

from atlassian_jwt.forge import FORGE_INSTALLED_EVENT
from atlassian_jwt.testing import (
    FakeAtlassianKeyServer,
    FakeForgeJWKS,
    ProductStandIn,
    product_request_headers,
    product_request_url,
    sign_product_request,
)

pytestmark = pytest.mark.extras

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "flask_app"
APP_KEY = json.loads((EXAMPLE / "atlassian-connect.json").read_text())["key"]
ATTACKER_SECRET = "an-attacker-chosen-shared-secret-that-is-long-enough-for-hs256!!"
ACCOUNT_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
ISSUE_CREATED = "avi:jira:created:issue"


class Atlassian(NamedTuple):
    """The app's address, and what plays Atlassian for it."""

    app: str  # the app's base URL: the address served
    keys: FakeAtlassianKeyServer
    forge: FakeForgeJWKS
    logs: list[str]
    secrets: list[str]  # every shared secret the tests installed: never in the logs

    def lifecycle(self, event: str, tenant: dict[str, Any], **options: Any) -> int:
        """The signed lifecycle callback, as the product sends it; its status."""
        self.secrets.append(tenant["sharedSecret"])
        call = self.keys.lifecycle_request(event, tenant, app_base_url=self.app, **options)
        response = requests.post(call.url, data=call.body, headers=call.headers, timeout=10)
        return response.status_code

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.post(self.app + path, timeout=10, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.app + path, timeout=10, **kwargs)

    def webhook(self, tenant: dict[str, Any], key: str, summary: str) -> int:
        path = "/webhooks/issue-created"
        body = {
            "webhookEvent": "jira:issue_created",
            "issue": {"key": key, "fields": {"summary": summary}},
        }
        headers = product_request_headers("POST", path, tenant)
        return self.post(path, json=body, headers=headers).status_code

    def forge_event(self, site: ProductStandIn, event: str, payload: Any, **options: Any) -> Any:
        """A Forge event delivered to the app: ``(status, outcome)``."""
        headers, body = self.forge.event_delivery(event, payload, product=site, **options)
        response = self.post("/forge/events", data=body, headers=headers)
        return response.status_code, response.json()["outcome"]

    def forge_call(self, site: ProductStandIn, issue_key: str, **options: Any) -> requests.Response:
        """The ``issue-summary`` Forge module's invokeRemote, from an issue's page."""
        options.setdefault("module_key", "issue-summary")
        options.setdefault("module_type", "jira:issueContext")
        headers = self.forge.invocation_headers(
            product=site,
            account_id=ACCOUNT_ID,
            context={"extension": {"issue": {"key": issue_key}, "type": "issue"}},
            **options,
        )
        # The body is the front end's: Forge does not sign it, and the app does not read it.
        return self.post("/forge/issue-summary", json={"issueKey": "EVIL-1"}, headers=headers)


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
    secrets: list[str] = []
    with FakeAtlassianKeyServer() as keys, FakeForgeJWKS() as forge:
        env.update(
            ATLASSIAN_INSTALL_KEYS=keys.url, FORGE_JWKS=forge.jwks_url, FORGE_APP_ID=forge.app_id
        )
        with example_app(env) as (base_url, logs):
            yield Atlassian(base_url, keys, forge, logs, secrets)
    text = "".join(logs)
    store = "SQLAlchemyTenantStore" if env["DATABASE_URL"] else "SQLiteTenantStore"
    assert f"Tenants are kept in a {store}" in text
    assert "/installed" in text and "/forge/events" in text  # the requests were logged...
    assert secrets and not any(secret in text for secret in secrets)  # ...and no secret,
    assert "eyJ" not in text  # no token


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    """A Jira site where the app is installed under a Forge manifest (an installationId)."""
    installation = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
    with ProductStandIn(app_key=APP_KEY, installation_id=installation) as site:
        site.respond(
            "GET",
            "/rest/api/3/issue/DEMO-7",
            json={"key": "DEMO-7", "fields": {"summary": "Fix the login page (as Jira has it)"}},
        )
        yield site


def test_the_descriptor_and_the_manifest_name_the_app_and_its_routes(
    atlassian: Atlassian,
) -> None:
    descriptor = atlassian.get("/atlassian-connect.json").json()
    assert descriptor["baseUrl"] == atlassian.app
    assert descriptor["apiMigrations"]["signed-install"] is True
    assert descriptor["lifecycle"]["installed"] == "/installed"
    # The Forge manifest names the same Connect app, its lifecycle routes and the Forge routes
    # (the app's constants read from its source: the test imports nothing of the process).
    source = (EXAMPLE / "app.py").read_text()
    constants = dict(
        re.findall(r'^(MANIFEST_APP_ID|ISSUE_SUMMARY_MODULE) = "([^"]+)"$', source, re.M)
    )
    manifest = (EXAMPLE / "manifest.yml").read_text()
    assert f"  id: {constants['MANIFEST_APP_ID']}\n" in manifest
    assert f"    key: {APP_KEY}  #" in manifest
    assert f"    - key: {constants['ISSUE_SUMMARY_MODULE']}\n" in manifest
    for path in ("/installed", "/uninstalled", "/webhooks/issue-created", "/forge/events"):
        assert f": {path}\n" in manifest


def test_a_connect_app_lifecycle_end_to_end(atlassian: Atlassian, jira: ProductStandIn) -> None:
    tenant = jira.tenant
    # Before any install, the tenant is unknown.
    assert atlassian.webhook(tenant, "DEMO-1", "Too early") == 401

    # Unsigned, or signed for another app's audience: refused, nothing stored.
    body = {**tenant, "eventType": "installed"}
    assert atlassian.post("/installed", json=body).status_code == 401
    other_app = {"aud": ["https://other-app.example.com"]}
    assert atlassian.lifecycle("installed", tenant, claims=other_app) == 401
    assert atlassian.webhook(tenant, "DEMO-1", "Still too early") == 401

    # A signed install stores the tenant.
    assert atlassian.lifecycle("installed", tenant) == 204

    # An HS256 webhook signed with the tenant's secret.
    assert atlassian.webhook(tenant, "DEMO-7", "Fix the login page") == 204

    # An unsigned installed that tries to take the tenant over with another secret: refused,
    # and the secret it tried to plant opens nothing.
    planted = {**tenant, "sharedSecret": ATTACKER_SECRET}
    assert (
        atlassian.post("/installed", json={**planted, "eventType": "installed"}).status_code == 401
    )
    hs256 = product_request_headers("POST", "/installed", planted)
    assert atlassian.post("/installed", json=planted, headers=hs256).status_code == 401
    assert atlassian.webhook(planted, "DEMO-8", "Forged") == 401

    # The iframe load, ?jwt= bound to the page's URL and its parameters (with the context
    # parameters Jira adds to an iframe URL, encoded as it encodes them).
    page = (
        "/issue-panel?issueKey=DEMO-7&xdm_e=https%3A%2F%2Fexample.atlassian.net&cp=%2Fjira"
        "&tz=Europe%2FBerlin&loc=en-US&user_id=a+b&lic=none"
    )
    iframe = atlassian.get(product_request_url("GET", page, tenant, account_id=ACCOUNT_ID))
    assert iframe.status_code == 200
    assert "DEMO-7" in iframe.text and "Fix the login page" in iframe.text
    assert "DEMO-8" not in iframe.text
    token = sign_product_request("GET", page, tenant)
    tampered = atlassian.get(f"/issue-panel?issueKey=DEMO-9&jwt={token}")
    assert tampered.status_code == 401

    # The page's script calls the app with a context token; the app calls Jira back.
    context = {"Authorization": f"JWT {sign_product_request('GET', '/', tenant, context_qsh=True)}"}
    summary = atlassian.get("/api/issue-summary?issueKey=DEMO-7", headers=context)
    assert summary.json() == {
        "issueKey": "DEMO-7",
        "summary": "Fix the login page (as Jira has it)",
    }
    [call] = jira.requests
    assert (call.method, call.path, call.query, call.auth) == (
        "GET",
        "/rest/api/3/issue/DEMO-7",
        "fields=summary",
        "jwt",  # the stand-in Jira verified the app's token: iss the app key, qsh by Java rules
    )

    # A context token is refused where it is not allowed: page, webhook, lifecycle.
    assert atlassian.get(page, headers=context).status_code == 401
    assert atlassian.post("/webhooks/issue-created", json={}, headers=context).status_code == 401
    assert atlassian.post("/installed", json=body, headers=context).status_code == 401

    # A signed uninstall removes the tenant: its secret opens nothing any more.
    assert atlassian.lifecycle("uninstalled", tenant) == 204
    assert atlassian.webhook(tenant, "DEMO-10", "After uninstall") == 401
    assert atlassian.get("/api/issue-summary?issueKey=DEMO-7", headers=context).status_code == 401

    # A new install starts afresh: the app forgot the tenant's issues when it was uninstalled.
    assert atlassian.lifecycle("installed", tenant) == 204
    fresh = atlassian.get(product_request_url("GET", page, tenant))
    assert fresh.status_code == 200
    assert "DEMO-7" in fresh.text  # the issue the page is about...
    assert "Fix the login page" not in fresh.text  # ...but no longer a recent webhook's


def test_connect_on_forge_end_to_end(atlassian: Atlassian, jira: ProductStandIn) -> None:
    tenant = jira.tenant
    lifecycle = {"id": tenant["installationId"].rpartition("/")[2]}

    # Forge's installed event can come before the Connect installed callback: until the tenant
    # is stored, the app answers 500, and Forge delivers the event again a minute later.
    assert atlassian.forge_event(jira, FORGE_INSTALLED_EVENT, lifecycle) == (500, "failed")
    assert atlassian.forge_call(jira, "DEMO-7").status_code == 409  # no Connect tenant yet

    assert atlassian.lifecycle("installed", tenant) == 204
    retried = atlassian.forge_event(jira, FORGE_INSTALLED_EVENT, lifecycle, retry_count=1)
    assert retried == (200, "handled")

    # A product event, as Forge delivers it to the remote, and Forge's retry of it: run once.
    issue = {"issue": {"key": "DEMO-7", "fields": {"summary": "Fix the login page"}}}
    assert atlassian.forge_event(jira, ISSUE_CREATED, issue) == (200, "handled")
    assert atlassian.forge_event(jira, ISSUE_CREATED, issue, retry_count=1) == (200, "duplicate")

    # The Forge module's remote: the issue of the verified context (not the body's), the
    # summary from the product's API with the app's Forge token, the Connect tenant's data.
    response = atlassian.forge_call(jira, "DEMO-7")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "issueKey": "DEMO-7",
        "summary": "Fix the login page (as Jira has it)",
        "recent": [{"key": "DEMO-7", "summary": "Fix the login page"}],
        "forgeLifecycle": [FORGE_INSTALLED_EVENT],
    }
    [call] = jira.requests
    assert call.target == f"/ex/jira/{jira.cloud_id}/rest/api/3/issue/DEMO-7?fields=summary"
    assert (call.auth, call.status) == ("forge-system", 200)  # x-forge-oauth-system, accepted

    # What the app refuses.
    assert atlassian.post("/forge/issue-summary").status_code == 401  # no token
    connect = product_request_headers("POST", "/forge/issue-summary", tenant)
    assert atlassian.post("/forge/issue-summary", headers=connect).status_code == 401
    another_app = FakeForgeJWKS(private_key=atlassian.forge.signing_key(), kid=atlassian.forge.kid)
    foreign = another_app.invocation_headers(product=jira, module_key="issue-summary")
    assert atlassian.post("/forge/issue-summary", headers=foreign).status_code == 401
    assert atlassian.forge_call(jira, "DEMO-7", module_key="another-module").status_code == 403
    stranger = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
    assert atlassian.forge_call(jira, "DEMO-7", installation_id=stranger).status_code == 409
    fit = atlassian.forge.invocation_headers(product=jira)["authorization"]
    page = {"Authorization": fit.replace("Bearer", "JWT")}
    assert atlassian.get("/issue-panel?issueKey=DEMO-7", headers=page).status_code == 401
    assert len(jira.requests) == 1  # none of them reached Jira

    # Once the Connect tenant is uninstalled, its installation's calls find nothing.
    assert atlassian.lifecycle("uninstalled", tenant) == 204
    assert atlassian.forge_call(jira, "DEMO-7").status_code == 409
    other = {"issue": {"key": "DEMO-8", "fields": {"summary": "After uninstall"}}}
    assert atlassian.forge_event(jira, ISSUE_CREATED, other) == (500, "failed")

    logs = "".join(atlassian.logs)
    assert (
        f"Forge {FORGE_INSTALLED_EVENT}: installation {tenant['installationId']} is the Connect "
        f"tenant {tenant['clientKey']}"
    ) in logs

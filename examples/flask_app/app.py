"""A Connect-on-Forge app for Jira, on Flask and the public API of atlassian_jwt.

Its Connect modules (``atlassian-connect.json``, and the ``connectModules`` of
``manifest.yml``) and its Forge modules are served by this one back end.

Connect, signed with the tenant's shared secret (``Authorization: JWT``):

* ``GET /atlassian-connect.json``: the descriptor, with this app's base URL in it;
* ``POST /installed``, ``/uninstalled``, ``/enabled``, ``/disabled``: the lifecycle, verified
  (signed installs: Atlassian's RS256 key) before any tenant is stored, replaced or removed;
  under a Forge manifest the ``installed`` payload carries the Forge ``installationId``;
* ``POST /webhooks/issue-created``: a webhook;
* ``GET /issue-panel``: the iframe of a web panel, loaded with ``?jwt=``;
* ``GET /api/issue-summary``: called by the panel's script with a context token; the app calls
  Jira's REST API back, signed with ``AtlassianJWTAuth``.

Forge, with a Forge invocation token (``Authorization: Bearer``):

* ``POST /forge/issue-summary``: the remote of the ``issue-summary`` Forge module
  (``invokeRemote``): the issue named by the token's context, its summary fetched from the
  product's API with the app's Forge token (``ForgeAuth``), and what the app keeps for the
  Connect tenant of the installation (``connect_tenant``);
* ``POST /forge/events``: Forge events (``ForgeEventDispatcher``): ``avi:jira:created:issue``
  (as the Connect webhook) and Forge's lifecycle events, each related to the Connect tenant
  by its installation, each handled once however often Forge delivers it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from flask import Flask, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from atlassian_jwt import (
    AtlassianKeyProvider,
    AuthResult,
    ConnectTenantNotFoundError,
    ForgeInvocationVerifier,
    ForgeTokenUnavailableError,
    InstallAuthenticator,
)
from atlassian_jwt.forge import (
    FORGE_JWKS_URLS,
    FORGE_LIFECYCLE_EVENTS,
    ForgeEvent,
    ForgeEventDispatcher,
    connect_tenant,
)
from atlassian_jwt.integrations.flask_ext import (
    forge_event_view,
    lifecycle_blueprint,
    require_forge,
    require_jwt,
)
from atlassian_jwt.integrations.requests_auth import AtlassianJWTAuth, ForgeAuth
from atlassian_jwt.lifecycle import LifecycleHandler
from atlassian_jwt.tenants import SQLiteTenantStore, TenantStore, TenantStoreAuthenticator

__all__ = ["MANIFEST_APP_ID", "Settings", "create_app"]

HERE = Path(__file__).parent
DESCRIPTOR = HERE / "atlassian-connect.json"

#: The ``app.id`` of ``manifest.yml``. ``forge register`` gives the app an id of its own: put it
#: in the manifest and in ``FORGE_APP_ID``.
MANIFEST_APP_ID = "ari:cloud:ecosystem::app/8db8e2c8-1b2d-4f3e-9a6b-0c1d2e3f4a5b"
#: The key of the Forge module whose remote ``/forge/issue-summary`` is: a FIT signs who calls,
#: not what is called, so the route serves this module's invocations only.
ISSUE_SUMMARY_MODULE = "issue-summary"
#: The Forge product event that announces a new issue, as the Connect webhook does.
ISSUE_CREATED_EVENT = "avi:jira:created:issue"

# A Jira issue key: what may go into the REST URL, and nothing that could change its path.
ISSUE_KEY = re.compile(r"[A-Z][A-Z0-9_]{0,254}-[1-9][0-9]{0,17}")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    """What the app needs to know, from the environment by default (see :meth:`from_env`)."""

    #: The app's public base URL: the descriptor's ``baseUrl`` and the signed installs' ``aud``.
    base_url: str
    #: A SQLAlchemy database URL (PostgreSQL, say); without one, the SQLite file below.
    database_url: str | None = None
    #: The SQLite file of the tenants.
    tenants_db: str = "connect-tenants.db"
    #: Atlassian's install-key server: ``production``, ``staging``, or a key server's URL.
    install_keys: str = "production"
    #: The Forge app's id (``app.id`` of ``manifest.yml``): the FITs' audience.
    forge_app_id: str = MANIFEST_APP_ID
    #: Forge's key set for invocation tokens: ``production``, ``staging``, or a JWKS URL.
    forge_jwks: str = "production"

    @classmethod
    def from_env(cls, base_url: str, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read ``APP_BASE_URL``, ``DATABASE_URL``, ``TENANTS_DB``,
        ``ATLASSIAN_INSTALL_KEYS``, ``FORGE_APP_ID`` and ``FORGE_JWKS``; ``base_url`` when
        ``APP_BASE_URL`` is not set."""
        return cls(
            base_url=environ.get("APP_BASE_URL") or base_url,
            database_url=environ.get("DATABASE_URL") or None,
            tenants_db=environ.get("TENANTS_DB") or cls.tenants_db,
            install_keys=environ.get("ATLASSIAN_INSTALL_KEYS") or cls.install_keys,
            forge_app_id=environ.get("FORGE_APP_ID") or cls.forge_app_id,
            forge_jwks=environ.get("FORGE_JWKS") or cls.forge_jwks,
        )


def create_app(settings: Settings) -> Flask:
    """Build the app; the tenant store is opened now, so a bad one fails at start-up."""
    app = Flask(__name__)
    store = open_store(settings)
    logger.info("Tenants are kept in a %s", type(store).__name__)
    if settings.install_keys in ("production", "staging"):
        keys = AtlassianKeyProvider(settings.install_keys)
    else:
        keys = AtlassianKeyProvider(base_url=settings.install_keys)
    installs = InstallAuthenticator(settings.base_url, key_provider=keys)
    authenticator = TenantStoreAuthenticator(store, base_url=settings.base_url)
    forge = forge_verifier(settings)
    recent = RecentIssues()
    forge_lifecycle = ForgeLifecycle()

    def forget_uninstalled(event: str, result: AuthResult) -> None:
        if event == "uninstalled":
            recent.forget(result.client_key)
            forge_lifecycle.forget(result.client_key)

    lifecycle = LifecycleHandler(store, installs)
    app.register_blueprint(lifecycle_blueprint(lifecycle, on_event=forget_uninstalled))

    @app.get("/atlassian-connect.json")
    def descriptor() -> ResponseReturnValue:
        return jsonify({**json.loads(DESCRIPTOR.read_text()), "baseUrl": settings.base_url})

    @app.post("/webhooks/issue-created")
    @require_jwt(authenticator)
    def issue_created() -> ResponseReturnValue:
        issue = issue_of(request.get_json(silent=True))
        if issue is not None:
            recent.add(g.atlassian_jwt.client_key, *issue)
        return "", 204

    @app.get("/issue-panel")
    @require_jwt(authenticator)
    def issue_panel() -> ResponseReturnValue:
        client_key = g.atlassian_jwt.client_key
        return render_template(
            "issue_panel.html",
            client_key=client_key,
            issue_key=request.args.get("issueKey", ""),
            recent=recent.of(client_key),
        )

    @app.get("/api/issue-summary")
    @require_jwt(authenticator, allow_context_qsh=True)
    def issue_summary() -> ResponseReturnValue:
        key = request.args.get("issueKey", "")
        if not ISSUE_KEY.fullmatch(key):
            return jsonify(error="issueKey is not an issue key"), 400
        tenant = store.get(g.atlassian_jwt.client_key)
        if tenant is None:  # uninstalled since the token was made
            return jsonify(error="not installed"), 401
        try:
            response = requests.get(
                f"{tenant['baseUrl']}/rest/api/3/issue/{quote(key)}",
                params={"fields": "summary"},
                auth=AtlassianJWTAuth(tenant),
                timeout=10,
            )
        except requests.RequestException as error:
            logger.warning("Jira could not be reached: %s", type(error).__name__)
            return jsonify(error="Jira could not be reached"), 502
        if response.status_code != 200:
            return jsonify(error=f"Jira answered {response.status_code}"), 502
        fields = response.json().get("fields") or {}
        return jsonify(issueKey=key, summary=fields.get("summary"))

    # Forge: the same tenants, found by the installation a Forge invocation names.

    @app.post("/forge/issue-summary")
    @require_forge(forge, store=store)  # keeps the app token per installation, too
    def forge_issue_summary() -> ResponseReturnValue:
        invocation = g.forge
        if invocation.module_key != ISSUE_SUMMARY_MODULE:
            return jsonify(error="not a module this route serves"), 403
        # The issue from the token's context, which Forge signs; the body it does not.
        issue = issue_of(invocation.context.get("extension"))
        if issue is None:
            return jsonify(error="the invocation names no issue"), 400
        key = issue[0]
        try:
            tenant = connect_tenant(invocation, store)
        except ConnectTenantNotFoundError:  # the Connect installed callback is not stored yet
            return jsonify(error="not installed"), 409
        try:
            response = requests.get(
                invocation.product_url(f"/rest/api/3/issue/{quote(key)}", {"fields": "summary"}),
                auth=ForgeAuth(invocation),
                timeout=10,
            )
        except ForgeTokenUnavailableError as error:  # the endpoint asks for no app token
            logger.warning("No Forge app token to call Jira with: %s", error.code)
            return jsonify(error="no app token"), 503
        except requests.RequestException as error:
            logger.warning("Jira could not be reached: %s", type(error).__name__)
            return jsonify(error="Jira could not be reached"), 502
        if response.status_code != 200:
            return jsonify(error=f"Jira answered {response.status_code}"), 502
        fields = response.json().get("fields") or {}
        client_key = tenant["clientKey"]
        return jsonify(
            issueKey=key,
            summary=fields.get("summary"),
            recent=recent.of(client_key),
            forgeLifecycle=forge_lifecycle.of(client_key),
        )

    events = ForgeEventDispatcher(forge, store)

    @events.on(ISSUE_CREATED_EVENT)
    def forge_issue_created(event: ForgeEvent) -> None:
        issue = issue_of(event.payload)
        if issue is not None:
            recent.add(connect_tenant(event.invocation, store)["clientKey"], *issue)

    @events.on(*FORGE_LIFECYCLE_EVENTS)
    def forge_installed(event: ForgeEvent) -> None:
        # The Connect installed callback and this event come in no set order: until the
        # tenant is stored, connect_tenant raises, the delivery is answered 500, and Forge
        # delivers the event again a minute later.
        tenant = connect_tenant(event.invocation, store)
        forge_lifecycle.add(tenant["clientKey"], event.event_type)
        logger.info(
            "Forge %s: installation %s is the Connect tenant %s",
            event.event_type,
            event.installation_id,
            tenant["clientKey"],
        )

    app.add_url_rule("/forge/events", view_func=forge_event_view(events), methods=["POST"])
    return app


def issue_of(document: Any) -> tuple[str, str] | None:
    """The key and summary of ``document["issue"]`` (a webhook's body, a Forge event, a Forge
    module's context), or ``None`` without an issue key."""
    issue = document.get("issue") if isinstance(document, Mapping) else None
    key = issue.get("key") if isinstance(issue, Mapping) else None
    if not isinstance(key, str) or not ISSUE_KEY.fullmatch(key):
        return None
    fields = issue.get("fields") if isinstance(issue, Mapping) else None
    summary = fields.get("summary") if isinstance(fields, Mapping) else None
    return key, summary if isinstance(summary, str) else ""


def forge_verifier(settings: Settings) -> ForgeInvocationVerifier:
    """The verifier of Forge invocation tokens, with the key set the settings name."""
    if settings.forge_jwks in FORGE_JWKS_URLS:
        return ForgeInvocationVerifier(settings.forge_app_id, environment=settings.forge_jwks)
    return ForgeInvocationVerifier(settings.forge_app_id, jwks_url=settings.forge_jwks)


def open_store(settings: Settings) -> TenantStore:
    """The SQLite file by default; with ``DATABASE_URL``, a SQLAlchemy store (PostgreSQL).

    Either is bound to this app's key, the descriptor's ``key``.
    """
    app_key = json.loads(DESCRIPTOR.read_text())["key"]
    if settings.database_url:
        from atlassian_jwt.integrations.sqlalchemy_store import SQLAlchemyTenantStore

        return SQLAlchemyTenantStore(settings.database_url, app_key=app_key)
    return SQLiteTenantStore(settings.tenants_db, app_key=app_key)


class ForgeLifecycle:
    """The Forge lifecycle events each Connect tenant's installation has sent, in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, list[str]] = {}

    def add(self, client_key: str, event_type: str) -> None:
        with self._lock:
            self._events.setdefault(client_key, []).append(event_type)

    def forget(self, client_key: str) -> None:
        with self._lock:
            self._events.pop(client_key, None)

    def of(self, client_key: str) -> list[str]:
        with self._lock:
            return list(self._events.get(client_key, ()))


class RecentIssues:
    """The last issues each tenant's webhook announced, in memory."""

    def __init__(self, size: int = 10) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._issues: dict[str, deque[dict[str, Any]]] = {}

    def add(self, client_key: str, key: str, summary: str) -> None:
        with self._lock:
            issues = self._issues.setdefault(client_key, deque(maxlen=self._size))
            issues.appendleft({"key": key, "summary": summary})

    def forget(self, client_key: str) -> None:
        with self._lock:
            self._issues.pop(client_key, None)

    def of(self, client_key: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._issues.get(client_key, ()))

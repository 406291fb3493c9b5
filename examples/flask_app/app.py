"""A minimal Atlassian Connect app for Jira, on Flask and the public API of atlassian_jwt.

* ``GET /atlassian-connect.json``: the descriptor, with this app's base URL in it;
* ``POST /installed``, ``/uninstalled``, ``/enabled``, ``/disabled``: the lifecycle, verified
  (signed installs: Atlassian's RS256 key) before any tenant is stored, replaced or removed;
* ``POST /webhooks/issue-created``: a webhook, signed with the tenant's shared secret;
* ``GET /issue-panel``: the iframe of a web panel, loaded with ``?jwt=``;
* ``GET /api/issue-summary``: called by the panel's script with a context token; the app calls
  Jira's REST API back, signed with ``AtlassianJWTAuth``.
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

from atlassian_jwt import AtlassianKeyProvider, AuthResult, InstallAuthenticator
from atlassian_jwt.integrations.flask_ext import lifecycle_blueprint, require_jwt
from atlassian_jwt.integrations.requests_auth import AtlassianJWTAuth
from atlassian_jwt.lifecycle import LifecycleHandler
from atlassian_jwt.tenants import SQLiteTenantStore, TenantStore, TenantStoreAuthenticator

__all__ = ["Settings", "create_app"]

HERE = Path(__file__).parent
DESCRIPTOR = HERE / "atlassian-connect.json"

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

    @classmethod
    def from_env(cls, base_url: str, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read ``APP_BASE_URL``, ``DATABASE_URL``, ``TENANTS_DB`` and
        ``ATLASSIAN_INSTALL_KEYS``; ``base_url`` when ``APP_BASE_URL`` is not set."""
        return cls(
            base_url=environ.get("APP_BASE_URL") or base_url,
            database_url=environ.get("DATABASE_URL") or None,
            tenants_db=environ.get("TENANTS_DB") or cls.tenants_db,
            install_keys=environ.get("ATLASSIAN_INSTALL_KEYS") or cls.install_keys,
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
    recent = RecentIssues()

    def forget_uninstalled(event: str, result: AuthResult) -> None:
        if event == "uninstalled":
            recent.forget(result.client_key)

    lifecycle = LifecycleHandler(store, installs)
    app.register_blueprint(lifecycle_blueprint(lifecycle, on_event=forget_uninstalled))

    @app.get("/atlassian-connect.json")
    def descriptor() -> ResponseReturnValue:
        return jsonify({**json.loads(DESCRIPTOR.read_text()), "baseUrl": settings.base_url})

    @app.post("/webhooks/issue-created")
    @require_jwt(authenticator)
    def issue_created() -> ResponseReturnValue:
        issue = (request.get_json(silent=True) or {}).get("issue") or {}
        key, summary = issue.get("key"), (issue.get("fields") or {}).get("summary")
        if isinstance(key, str) and ISSUE_KEY.fullmatch(key):
            recent.add(g.atlassian_jwt.client_key, key, summary if isinstance(summary, str) else "")
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

    return app


def open_store(settings: Settings) -> TenantStore:
    """The SQLite file by default; with ``DATABASE_URL``, a SQLAlchemy store (PostgreSQL).

    Either is bound to this app's key, the descriptor's ``key``.
    """
    app_key = json.loads(DESCRIPTOR.read_text())["key"]
    if settings.database_url:
        from atlassian_jwt.integrations.sqlalchemy_store import SQLAlchemyTenantStore

        return SQLAlchemyTenantStore(settings.database_url, app_key=app_key)
    return SQLiteTenantStore(settings.tenants_db, app_key=app_key)


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

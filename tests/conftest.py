"""Shared fixtures: Atlassian's vectors, tenants and a ready Authenticator subclass."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

import atlassian_jwt

HERE = Path(__file__).parent

# Deterministic and deadline-free on CI's shared machines; still many examples.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=200)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# At least 64 bytes: PyJWT warns about HMAC keys shorter than the hash (HS512 included)
SECRET = "a-shared-secret-long-enough-for-every-hmac-algorithm-hs256-to-hs512"
CLIENT_KEY = "11111111-2222-3333-4444-555555555555"
APP_KEY = "com.example.my-app"


def load_vectors(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((HERE / name).read_text(encoding="utf-8"))
    return data


OFFICIAL = load_vectors("official_interop_vectors.json")
EXTRA = load_vectors("extra_vectors.json")


class StoreAuthenticator(atlassian_jwt.Authenticator):
    """The subclass an app writes: secrets looked up in a dict of tenants."""

    def __init__(self, tenants: Mapping[str, Mapping[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tenants = tenants

    def get_shared_secret(self, client_key: str) -> str | None:
        tenant = self.tenants.get(client_key)
        return tenant["sharedSecret"] if tenant else None


@pytest.fixture
def tenant() -> dict[str, Any]:
    """The payload of an ``installed`` callback, as the product sends it."""
    return {
        "key": APP_KEY,
        "clientKey": CLIENT_KEY,
        "sharedSecret": SECRET,
        "baseUrl": "https://example.atlassian.net",
        "productType": "jira",
        "eventType": "installed",
    }


@pytest.fixture
def authenticator(tenant: dict[str, Any]) -> StoreAuthenticator:
    return StoreAuthenticator({CLIENT_KEY: tenant})

"""The suite's fixtures and hypothesis profiles; what test modules import is in support.py."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import settings

from tests.support import APP_KEY, CLIENT_KEY, SECRET, StoreAuthenticator

# Deterministic and deadline-free on CI's shared machines; still many examples.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=200)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


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

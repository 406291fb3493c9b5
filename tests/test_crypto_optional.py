"""RS256 needs cryptography: with it the key providers work, without it they say how to get it.

Not marked ``extras``: this runs in both the full and the ``noextras`` environments and checks
whichever behaviour the environment should have.
"""

from __future__ import annotations

import jwt.algorithms
import pytest

import atlassian_jwt
from atlassian_jwt import keys

HINT = (
    r"needs cryptography: pip install 'cryptography>=3\.4' "
    r"\(the \[crypto\] extra of atlassian-jwt 4\)"
)


def test_core_imports_without_optional_packages() -> None:
    assert atlassian_jwt.AtlassianKeyProvider is keys.AtlassianKeyProvider
    assert issubclass(atlassian_jwt.UnknownKeyError, atlassian_jwt.DecodeError)


def test_rs256_needs_cryptography_or_says_so() -> None:
    if jwt.algorithms.has_crypto:
        assert keys.StaticKeyProvider({}).get_key("any-kid") is None
        assert keys.AtlassianKeyProvider().base_url.startswith("https://")
        installs = atlassian_jwt.InstallAuthenticator("https://app.example.com")
        assert installs.app_base_urls == ("https://app.example.com",)
        forge = atlassian_jwt.ForgeInvocationVerifier("my-app-id")
        assert forge.app_ari == "ari:cloud:ecosystem::app/my-app-id"
    else:
        for make in (
            keys.AtlassianKeyProvider,
            lambda: keys.StaticKeyProvider({}),
            lambda: atlassian_jwt.InstallAuthenticator("https://app.example.com"),
            lambda: atlassian_jwt.ForgeInvocationVerifier("my-app-id"),
        ):
            with pytest.raises(ImportError, match=HINT):
                make()

"""What the framework tests share: tokens as the product signs them, and the URLs to try."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import atlassian_jwt
from atlassian_jwt.tenants import TenantStoreError
from atlassian_jwt.testing import sign_product_request
from tests.support import ACCOUNT, CLIENT_KEY, SECRET, StoreAuthenticator

# Request targets as the product sends them (raw), each under the catch-all route /p/...:
# each one is hashed differently from what a framework's decoded path would give.
RAW_TARGETS = [
    "/p/a%2Fb?x=1",  # an encoded slash is not a slash
    "/p/%7Etilde?z=%7e",  # an encoded unreserved character stays encoded in the path
    "/p/caf%C3%A9?name=%C3%A9t%C3%A9&name=abc",  # UTF-8 in the path and repeated values
    "/p/x?q=a+b&r=a%2Bb&s=x%20y&t=%2F",  # "+" is a space in a query, "%2B" a plus
    "/p/sp%20ace/?a=&b",  # a space, a trailing slash, blank values
    "/p/semi;p=1?x=1",  # path parameters stay where they are
]


#: The suite's tenant, as the framework tests' authenticators know it.
TENANT = {"clientKey": CLIENT_KEY, "sharedSecret": SECRET}


def sign(method: str, url: str, *, tenant: Mapping[str, Any] = TENANT, **options: Any) -> str:
    """A token as the product signs ``method url`` (relative to the app's base URL) for
    ``tenant`` and the suite's user: the kit's :func:`sign_product_request`, whose ``options``
    it takes."""
    return sign_product_request(method, url, tenant, account_id=ACCOUNT, **options)


def multipart(fields: dict[str, str], boundary: str = "b0undary") -> bytes:
    """A ``multipart/form-data`` body, as a browser sends a form with a file input."""
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


#: ``Content-Type`` headers of multipart bodies (boundary ``b0undary``), in the spellings a
#: framework's own parser accepts.
FORM_TYPE = "application/x-www-form-urlencoded"
#: Form bodies whose fields a framework could read otherwise than the qsh hashes them:
#: ``(body, Content-Type)``. Each is refused on a signed-form route, whatever the token.
UNSIGNABLE_FORMS = [
    ("comment=caf\u00e9".encode(), FORM_TYPE),  # raw UTF-8: latin-1 text to Starlette
    (b"comment=caf%E9", FORM_TYPE),  # an escape of no UTF-8: U+FFFD to some, not to others
    (b"comment=caf%C3%A9", f"{FORM_TYPE}; charset=ISO-8859-1"),  # Django reads it as latin-1
]
#: The same text as a signed form body must carry it, which every framework reads alike.
ESCAPED_FORM = (b"comment=caf%C3%A9", f"{FORM_TYPE}; charset=UTF-8")

MULTIPART_TYPES = [
    "multipart/form-data; boundary=b0undary",
    "Multipart/Form-Data ; boundary=b0undary",
]


def context_token() -> str:
    """A token from ``AP.context.getToken()``: bound to no request."""
    return sign("GET", "/", context_qsh=True)


#: Tokens every framework helper refuses on ``GET /page`` with a bare 401, by what is wrong
#: with them (``None``: no token at all).
REJECTED_TOKENS: dict[str, str | None] = {
    "none": None,
    "qsh": sign("GET", "/other"),
    "method": sign("POST", "/page"),
    "secret": sign("GET", "/page", tenant={**TENANT, "sharedSecret": "x" * 64}),
    "expired": sign("GET", "/page", now=time.time() - 7200),
    "context": context_token(),  # where none is allowed
    "garbage": "not-a-token",
}


def auth_header(token: str) -> dict[str, str]:
    return {"Authorization": f"JWT {token}"}


class UnreachableKeysAuthenticator(StoreAuthenticator):
    """An Authenticator whose key source is down: a 503, never a 401."""

    def get_shared_secret(self, client_key: str) -> str | None:
        raise atlassian_jwt.KeyFetchError("key server unreachable")


class BrokenStoreAuthenticator(StoreAuthenticator):
    """An Authenticator whose tenant store fails: a 503, never a 401 (nor a 500)."""

    def get_shared_secret(self, client_key: str) -> str | None:
        raise TenantStoreError("the tenant database is locked")


#: Authenticators that cannot tell now whether a token is good.
UNAVAILABLE: list[type[StoreAuthenticator]] = [
    UnreachableKeysAuthenticator,
    BrokenStoreAuthenticator,
]


def authenticator(**kwargs: Any) -> StoreAuthenticator:
    return StoreAuthenticator({CLIENT_KEY: {"sharedSecret": SECRET}}, **kwargs)


class CountingAuthenticator(StoreAuthenticator):
    """Counts verifications, to show a request is verified once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls = 0

    def authenticate(self, *args: Any, **kwargs: Any) -> atlassian_jwt.AuthResult:
        self.calls += 1
        return super().authenticate(*args, **kwargs)


class HeaderHookAuthenticator(StoreAuthenticator):
    """Overrides 3.0.0's ``_get_token`` hook to read the token from ``X-Atlassian-Token``, as
    an app that puts it elsewhere does: helpers must give it every header."""

    @staticmethod
    def _get_token(headers: Any = None, query_params: Any = None) -> str:
        token = atlassian_jwt.tokens.header_value(headers, "x-atlassian-token")
        if token is None:
            raise atlassian_jwt.TokenMissingError("No token in X-Atlassian-Token")
        return token


def header_hook_authenticator() -> HeaderHookAuthenticator:
    return HeaderHookAuthenticator({CLIENT_KEY: {"sharedSecret": SECRET}})


#: The Authenticator a Django test settings module names by its dotted path.
DJANGO_AUTHENTICATOR = CountingAuthenticator({CLIENT_KEY: {"sharedSecret": SECRET}})


class RecordingHandler:
    """Stands in for a LifecycleHandler: records each call, rejects one without a token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str, bytes]] = []

    def _record(self, event: str, method: str, url: str, headers: Any, body: bytes) -> Any:
        self.calls.append((event, method, url, headers.get("Authorization", ""), body))
        if "Authorization" not in headers:
            raise atlassian_jwt.TokenMissingError("JWT token not found")
        if headers["Authorization"] == "JWT keys-down":
            raise atlassian_jwt.KeyFetchError("key server unreachable")
        if headers["Authorization"] == "JWT store-down":
            raise TenantStoreError("the tenant database is locked")
        return atlassian_jwt.AuthResult(CLIENT_KEY, {})

    def installed(self, method: str, url: str, headers: Any, body: bytes) -> Any:
        return self._record("installed", method, url, headers, body)

    def uninstalled(self, method: str, url: str, headers: Any, body: bytes) -> Any:
        return self._record("uninstalled", method, url, headers, body)

    def enabled(self, method: str, url: str, headers: Any, body: bytes) -> Any:
        return self._record("enabled", method, url, headers, body)

    def disabled(self, method: str, url: str, headers: Any, body: bytes) -> Any:
        return self._record("disabled", method, url, headers, body)


def rejection_codes() -> set[str]:
    """Every ``code`` a rejection can carry."""
    codes: set[str] = set()
    pending: list[type[atlassian_jwt.TokenRejectedError]] = [atlassian_jwt.TokenRejectedError]
    while pending:
        cls = pending.pop()
        codes.add(cls.code)
        pending.extend(cls.__subclasses__())
    return codes

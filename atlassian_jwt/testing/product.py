"""A stand-in Atlassian product on 127.0.0.1: it checks the app's calls the way the product does.

:class:`ProductStandIn` plays one site (a Jira or a Confluence) on which the app is installed,
and Atlassian's services around it:

* **Connect calls** to the site's ``baseUrl`` (``Authorization: JWT …``) are verified as Jira
  verifies them: HS256 with the tenant's shared secret, ``iss`` = the **app key**,
  ``exp``/``iat`` with Atlassian's 30 seconds of leeway, and ``qsh`` by the Java rules relative
  to the ``baseUrl`` (Confluence's ``/wiki`` removed);
* **acting as a user**: ``POST /oauth2/token`` is the JWT-bearer exchange of
  :mod:`atlassian_jwt.oauth2` (the assertion verified with the shared secret, ``iss``,
  ``sub``, ``tnt``, ``aud`` and its lifetime checked), and the access tokens it issues are
  accepted as ``Authorization: Bearer …`` on the site until they expire;
* **Forge calls** to :attr:`~ProductStandIn.forge_api_base_url`
  (``/ex/<product>/<cloudId>/…``, as ``apiBaseUrl`` in a Forge invocation token) accept the
  fake ``x-forge-oauth-*`` tokens this stand-in issued (:meth:`~ProductStandIn.issue_forge_token`)
  for this site, until they expire.

Every call is answered (200 and a JSON echo, or what :meth:`~LocalServer.respond` set for its
path) or refused (401, with the reason) and recorded in :attr:`~ProductStandIn.requests`::

    with ProductStandIn("confluence") as confluence:
        tenant = confluence.tenant
        requests.get(tenant["baseUrl"] + "/rest/api/space", auth=AtlassianJWTAuth(tenant))
        assert confluence.requests[-1].accepted

Only PyJWT is needed here.
"""

from __future__ import annotations

import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jwt

from .. import exceptions as exc
from ..authenticate import Authenticator
from ..install import DEFAULT_INSTALL_LEEWAY
from ..oauth2 import ASSERTION_LIFETIME, GRANT_TYPE
from ..tokens import is_numeric_date
from ._server import Headers, LocalServer, ReceivedRequest, Reply
from ._tokens import (
    FORGE_OAUTH_TOKEN_ISSUER,
    FORGE_OAUTH_TOKEN_KINDS,
    forge_oauth_token,
)
from .connect import DEFAULT_APP_KEY, PRODUCT_BASE_PATHS, make_tenant

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "FORGE_OAUTH_TOKEN_LIFETIME",
    "REJECTIONS",
    "ProductRequest",
    "ProductStandIn",
    "TokenExchange",
]

#: Seconds an access token from the exchange is valid (its ``expires_in``), by default.
ACCESS_TOKEN_LIFETIME = 15 * 60

#: Seconds a fake ``x-forge-oauth-*`` token is valid, by default.
FORGE_OAUTH_TOKEN_LIFETIME = 15 * 60

#: What each kind of credentials is recorded as in :attr:`ProductRequest.auth`.
AUTH_JWT = "jwt"  # a Connect token signed with the shared secret: the app acts
AUTH_USER_TOKEN = "oauth2-user"  # an access token from the exchange: a user acts
AUTH_FORGE_SYSTEM = "forge-system"  # x-forge-oauth-system: the app acts
AUTH_FORGE_USER = "forge-user"  # x-forge-oauth-user: a user acts

#: Why the stand-in refuses a call that is not refused by the library's verifier (whose
#: rejections are recorded by their ``code``, such as ``qsh_mismatch``).
REJECTIONS: Mapping[str, str] = {
    "no_credentials": "The request carries no Authorization the product accepts",
    "unknown_bearer_token": "The bearer token is not one this product issued",
    "bearer_token_expired": "The bearer token has expired",
    "wrong_site": "The credentials are not for this site, or the path names another site",
}

# What the exchange's assertion names, as Atlassian's authorization server reads it.
_ASSERTION_ISSUER_PREFIX = "urn:atlassian:connect:clientid:"
_ASSERTION_SUBJECT_PREFIX = "urn:atlassian:connect:useraccountid:"
_TOKEN_PATH = "/oauth2/token"
_FORM = "application/x-www-form-urlencoded"


class ProductRequest(NamedTuple):
    """One call the app made to the product, and what the product made of it.

    :ivar method: the method.
    :ivar target: the raw request target (path and query) as received.
    :ivar path: the path on the site: :attr:`target`'s path with a Forge API prefix
        (``/ex/jira/<cloudId>``) removed; Confluence's keep ``/wiki``.
    :ivar headers: the request headers (names case-insensitive).
    :ivar body: the request body.
    :ivar status: the status answered.
    :ivar auth: how the call authenticated: ``"jwt"`` (a Connect token: the app acts),
        ``"oauth2-user"`` (an access token from the exchange), ``"forge-system"`` or
        ``"forge-user"`` (the fake Forge tokens); ``None`` if it was refused.
    :ivar account_id: the user a user token acts for, else ``None``.
    :ivar claims: the verified claims of a Connect token, or of a fake Forge token; ``{}`` for
        other calls.
    :ivar rejection: why it was refused: the library's rejection ``code`` (such as
        ``qsh_mismatch``) or one of :data:`REJECTIONS`; ``None`` if it was accepted.
    :ivar detail: a sentence about the rejection (for a ``qsh`` mismatch, the canonical request
        the product computed).
    """

    method: str
    target: str
    path: str
    headers: Headers
    body: bytes
    status: int
    auth: str | None
    account_id: str | None
    claims: dict[str, Any]
    rejection: str | None
    detail: str | None

    @property
    def accepted(self) -> bool:
        """Whether the product accepted the credentials."""
        return self.rejection is None

    @property
    def query(self) -> str:
        """The raw query string."""
        return self.target.partition("?")[2]


class TokenExchange(NamedTuple):
    """One ``POST /oauth2/token`` the app made, and what the authorization server made of it.

    :ivar form: the form fields received.
    :ivar claims: the assertion's claims once verified, else ``{}``.
    :ivar problems: what was wrong with the request; empty for a good one.
    :ivar status: the status answered.
    :ivar account_id: the user the assertion asks to act as, if it verified.
    :ivar scopes: the scopes asked for.
    """

    form: dict[str, str]
    claims: dict[str, Any]
    problems: tuple[str, ...]
    status: int
    account_id: str | None
    scopes: tuple[str, ...]

    @property
    def assertion(self) -> str:
        """The assertion received (``""`` if none)."""
        return self.form.get("assertion", "")

    def __repr__(self) -> str:
        # The assertion is a credential: it stays out of test reports.
        return (
            f"TokenExchange(status={self.status}, account_id={self.account_id!r}, "
            f"scopes={self.scopes!r}, problems={self.problems!r})"
        )


class _Rejected(Exception):
    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail or REJECTIONS.get(code, code)


class _Accepted(NamedTuple):
    auth: str
    account_id: str | None
    claims: dict[str, Any]


class _AppKeyAuthenticator(Authenticator):
    """The product's side of Connect: a token names the **app key** in ``iss``."""

    def __init__(self, stand_in: ProductStandIn, leeway: float) -> None:
        super().__init__(leeway=leeway, base_url=stand_in.base_path or None)
        self.stand_in = stand_in

    def get_shared_secret(self, client_key: str) -> str | None:
        tenant = self.stand_in.tenant
        secret = tenant.get("sharedSecret")
        return secret if client_key == tenant.get("key") and isinstance(secret, str) else None


class ProductStandIn(LocalServer):
    """One Atlassian site, with the app installed, on 127.0.0.1; use it in a ``with`` block.

    Credentials are checked first, as the product checks them: a refused call gets 401 whatever
    its path. An accepted one gets what :meth:`~LocalServer.respond` or
    :meth:`~LocalServer.intercept` set for its path on the site (a Forge API call's path
    without ``/ex/<product>/<cloudId>``; Confluence's keep ``/wiki``), else 200 and a JSON
    echo: ``method``, ``path``, ``query``, ``auth``, ``accountId`` (the acting user, if a user
    acts) and ``body``. ``POST /oauth2/token`` is the token exchange (a reply set for it
    replaces the exchange's answer, after the exchange is recorded).

    :param product_type: ``"jira"`` or ``"confluence"`` (whose ``baseUrl`` ends in
        ``/wiki``).
    :param app_key: the installed app's key: the ``iss`` its Connect tokens must carry.
    :param cloud_id: the site's cloud id, in :attr:`forge_api_base_url`; a new UUID by default.
    :param installation_id: the Forge installation ARI of a Connect-on-Forge app, put in the
        tenant as ``installationId``; ``None`` for a plain Connect app.
    :param leeway: seconds of clock skew allowed for Connect tokens and assertions: 30, as
        Atlassian's Java reader allows.
    :param access_token_lifetime: the ``expires_in`` of the access tokens the exchange issues.
    :param host: the host name in :attr:`url`: ``"127.0.0.1"``, or ``"localhost"`` for a
        stand-in that is another origin than one on ``127.0.0.1``.
    :param tenant_fields: more fields for :attr:`tenant` (see
        :func:`~atlassian_jwt.testing.make_tenant`).
    :param clock: where the authorization server reads the time (seconds since the epoch):
        the assertion's ``iat`` and ``exp`` are judged by it, and the access tokens it issues
        expire by it. Give it the clock your
        :class:`~atlassian_jwt.oauth2.TokenProvider` has (``clock=``) to move both by hand;
        by default :func:`time.time`, which :class:`~atlassian_jwt.testing.FrozenClock`
        moves. Connect tokens and Forge tokens are judged by the process's clock, as the
        library's verifiers judge them.
    """

    def __init__(
        self,
        product_type: str = "jira",
        *,
        app_key: str = DEFAULT_APP_KEY,
        cloud_id: str | None = None,
        installation_id: str | None = None,
        leeway: float = DEFAULT_INSTALL_LEEWAY,
        access_token_lifetime: int = ACCESS_TOKEN_LIFETIME,
        host: str = "127.0.0.1",
        tenant_fields: Mapping[str, Any] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if product_type not in PRODUCT_BASE_PATHS:
            raise ValueError(f"product_type must be one of {sorted(PRODUCT_BASE_PATHS)}")
        super().__init__(host=host)
        self.product_type = product_type
        #: The path of the site's ``baseUrl``: ``"/wiki"`` for Confluence, else ``""``.
        self.base_path = PRODUCT_BASE_PATHS[product_type]
        self.app_key = app_key
        self.cloud_id = cloud_id or str(uuid.uuid4())
        self.installation_id = installation_id
        self.access_token_lifetime = access_token_lifetime
        self._tenant_fields = dict(tenant_fields or {})
        self._tenant: dict[str, Any] | None = None
        self._leeway = leeway
        self._clock = clock
        self._authenticator = _AppKeyAuthenticator(self, leeway)
        # Signs the fake Forge tokens: only this stand-in can make tokens it accepts.
        self._forge_secret = secrets.token_bytes(32)
        self._records: list[ProductRequest] = []
        self._exchanges: list[TokenExchange] = []
        self._access_tokens: dict[str, tuple[str, float]] = {}
        self._records_lock = threading.Lock()

    def start(self) -> ProductStandIn:
        """Serve, and install the app: :attr:`tenant` names this server as its ``baseUrl``."""
        super().start()
        self._tenant = make_tenant(
            base_url=self.base_url,
            product_type=self.product_type,
            app_key=self.app_key,
            installation_id=self.installation_id,
            **self._tenant_fields,
        )
        return self

    @property
    def base_url(self) -> str:
        """The site's ``baseUrl``: :attr:`url`, and ``/wiki`` for Confluence."""
        return self.url + self.base_path

    @property
    def tenant(self) -> dict[str, Any]:
        """The app's tenant on this site: the ``installed`` payload the site sent the app.

        The stand-in verifies calls with this very dict, read at each request: change its
        ``sharedSecret`` (a reinstall) and the old one is refused from then on.

        :raises RuntimeError: before the stand-in is started.
        """
        if self._tenant is None:
            raise RuntimeError("The ProductStandIn is not serving: use it in a with block first")
        return self._tenant

    @property
    def authorization_server(self) -> str:
        """The address to give ``TokenProvider(authorization_server=...)``: this server."""
        return self.url

    @property
    def forge_api_base_url(self) -> str:
        """The site's Forge API base URL (a FIT's ``app.apiBaseUrl``):
        ``<url>/ex/<product>/<cloudId>``."""
        return f"{self.url}/ex/{self.product_type}/{self.cloud_id}"

    @property
    def requests(self) -> list[ProductRequest]:
        """The calls received so far (token exchanges aside), oldest first; a copy."""
        with self._records_lock:
            return list(self._records)

    @property
    def exchanges(self) -> list[TokenExchange]:
        """The token exchanges received so far, oldest first; a copy."""
        with self._records_lock:
            return list(self._exchanges)

    def clear(self) -> None:
        """Forget the calls and exchanges recorded so far (issued tokens stay valid)."""
        with self._records_lock:
            self._records.clear()
            self._exchanges.clear()

    def issue_forge_token(
        self,
        kind: str = "system",
        *,
        account_id: str | None = None,
        lifetime: int = FORGE_OAUTH_TOKEN_LIFETIME,
        now: float | None = None,
    ) -> str:
        """Issue a fake Forge OAuth token that this site accepts on its Forge API until it
        expires: a JWT whose ``exp`` is ``lifetime`` seconds after ``now``.

        :param kind: ``"system"`` (the app's token, ``x-forge-oauth-system``) or ``"user"``
            (a user's token, ``x-forge-oauth-user``, which needs ``account_id``).
        :param account_id: the user a user token acts for.
        :param lifetime: seconds until it expires.
        :param now: the time to issue it at; by default the current (or the kit clock's) time.
        :raises ValueError: for an unknown kind or a user token without an account id.
        """
        return forge_oauth_token(
            self._forge_secret,
            kind,
            cloud_id=self.cloud_id,
            account_id=account_id,
            lifetime=lifetime,
            now=now,
        )

    def answer(self, request: ReceivedRequest) -> Reply:
        """Verify the call's credentials, answer it and record it."""
        if request.path == _TOKEN_PATH:
            return self._exchange(request)
        try:
            site_path = self._site_path(request.path)
            accepted = self._check_credentials(request, forge=site_path != request.path)
        except _Rejected as rejected:
            reply = Reply.json({"code": rejected.code, "message": rejected.detail}, 401)
            self._record(request, request.path, reply, None, rejected)
            return reply
        site_target = site_path + (f"?{request.query}" if request.query else "")
        reply = self.override(request._replace(target=site_target)) or Reply.json(
            {
                "method": request.method,
                "path": site_path,
                "query": request.query,
                "auth": accepted.auth,
                "accountId": accepted.account_id,
                "body": request.body.decode("utf-8", "replace"),
            }
        )
        self._record(request, site_path, reply, accepted, None)
        return reply

    def _now(self) -> float:
        """The authorization server's time: the given clock's, else the process's."""
        return self._clock() if self._clock is not None else time.time()

    def _site_path(self, path: str) -> str:
        """The path on the site: a Forge API path loses its ``/ex/<product>/<cloudId>``."""
        if not path.startswith("/ex/"):
            return path
        product, _, rest = path[len("/ex/") :].partition("/")
        cloud_id, _, site_path = rest.partition("/")
        if product != self.product_type or cloud_id != self.cloud_id:
            raise _Rejected("wrong_site", "The Forge API path names another site")
        return "/" + site_path

    def _check_credentials(self, request: ReceivedRequest, *, forge: bool) -> _Accepted:
        scheme, _, credentials = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            token = credentials.strip()
            return self._forge_token(token) if forge else self._access_token(token)
        if forge:
            # api.atlassian.com takes bearer tokens only: a Connect JWT is no use there.
            raise _Rejected("no_credentials", "The Forge API takes a bearer token only")
        return self._connect_jwt(request)

    def _connect_jwt(self, request: ReceivedRequest) -> _Accepted:
        content_type = request.headers.get("Content-Type") or ""
        # As the product's servlet container: a form-encoded POST body is parameters too.
        is_form = request.method == "POST" and content_type.startswith(_FORM)
        try:
            result = self._authenticator.authenticate(
                request.method,
                request.target,
                request.headers.pairs(),
                body_params=request.body if is_form else None,
            )
        except exc.TokenMissingError:
            raise _Rejected("no_credentials") from None
        except exc.DecodeError as error:
            raise _Rejected(getattr(error, "code", "rejected"), self._explain(error)) from None
        return _Accepted(AUTH_JWT, None, result.claims)

    def _explain(self, error: exc.DecodeError) -> str:
        if getattr(error, "client_key", None) == self.tenant.get("clientKey"):
            return (
                "The token's iss is the tenant's clientKey: a call to the product names the "
                "app key (the tenant's 'key') in iss"
            )
        canonical = getattr(error, "canonical_request", None)
        if canonical:
            return f"{error} (the product's canonical request: {canonical})"
        return str(error)

    def _access_token(self, token: str) -> _Accepted:
        with self._records_lock:
            issued = self._access_tokens.get(token)
        if issued is None:
            raise _Rejected("unknown_bearer_token")
        account_id, expires_at = issued
        if self._now() >= expires_at:
            raise _Rejected("bearer_token_expired")
        return _Accepted(AUTH_USER_TOKEN, account_id, {})

    def _forge_token(self, token: str) -> _Accepted:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._forge_secret,
                algorithms=["HS256"],
                issuer=FORGE_OAUTH_TOKEN_ISSUER,
                options={"require": ["iss", "iat", "exp", "kind", "cloudId"]},
            )
        except jwt.ExpiredSignatureError:
            raise _Rejected("bearer_token_expired") from None
        except jwt.PyJWTError:
            raise _Rejected("unknown_bearer_token") from None
        if claims["cloudId"] != self.cloud_id or claims["kind"] not in FORGE_OAUTH_TOKEN_KINDS:
            raise _Rejected("wrong_site", "The Forge token was issued for another site")
        if claims["kind"] == "user":
            return _Accepted(AUTH_FORGE_USER, claims.get("sub"), claims)
        return _Accepted(AUTH_FORGE_SYSTEM, None, claims)

    def _record(
        self,
        request: ReceivedRequest,
        site_path: str,
        reply: Reply,
        accepted: _Accepted | None,
        rejected: _Rejected | None,
    ) -> None:
        record = ProductRequest(
            method=request.method,
            target=request.target,
            path=site_path,
            headers=request.headers,
            body=request.body,
            status=reply.status,
            auth=accepted.auth if accepted else None,
            account_id=accepted.account_id if accepted else None,
            claims=accepted.claims if accepted else {},
            rejection=rejected.code if rejected else None,
            detail=rejected.detail if rejected else None,
        )
        with self._records_lock:
            self._records.append(record)

    def _exchange(self, request: ReceivedRequest) -> Reply:
        """The authorization server's JWT-bearer exchange (RFC 7523), as the app calls it."""
        form = dict(
            urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        )
        problems: list[str] = []
        content_type = request.headers.get("Content-Type") or ""
        if request.method != "POST":
            problems.append(f"method {request.method}")
        if content_type.split(";")[0].strip() != _FORM:
            problems.append(f"content type {content_type!r}")
        if set(form) != {"grant_type", "assertion", "scope"}:
            problems.append(f"form fields {sorted(form)}")
        if form.get("grant_type") != GRANT_TYPE:
            problems.append(f"grant_type {form.get('grant_type')!r}")
        scopes = tuple(form.get("scope", "").split(" "))
        if not all(scopes) or any(scope != scope.upper() for scope in scopes):
            problems.append(f"scope {form.get('scope')!r}")
        claims = self._assertion_claims(form.get("assertion", ""), problems)
        account_id = None
        if claims is not None and not problems:
            account_id = str(claims["sub"])[len(_ASSERTION_SUBJECT_PREFIX) :]
        reply = self.override(request)
        if reply is None:
            reply = (
                self._issue_access_token(account_id, scopes)
                if account_id is not None
                else Reply.json({"error": "invalid_grant"}, 400)
            )
        exchange = TokenExchange(
            form, claims or {}, tuple(problems), reply.status, account_id, scopes
        )
        with self._records_lock:
            self._exchanges.append(exchange)
        return reply

    def _issue_access_token(self, account_id: str, scopes: tuple[str, ...]) -> Reply:
        access_token = secrets.token_urlsafe(32)
        with self._records_lock:
            self._access_tokens[access_token] = (
                account_id,
                self._now() + self.access_token_lifetime,
            )
        return Reply.json(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": self.access_token_lifetime,
                "scope": " ".join(scopes),
            }
        )

    def _assertion_claims(self, assertion: str, problems: list[str]) -> dict[str, Any] | None:
        tenant = self.tenant
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                tenant["sharedSecret"],
                algorithms=["HS256"],
                audience=self.authorization_server,
                issuer=_ASSERTION_ISSUER_PREFIX + str(tenant.get("oauthClientId")),
                # The times are judged below, by this server's clock.
                options={
                    "require": ["iss", "sub", "tnt", "aud", "iat", "exp"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as error:
            problems.append(f"assertion: {error}")
            return None
        times = {name: claims[name] for name in ("iat", "exp", "nbf") if name in claims}
        wrong = sorted(name for name, value in times.items() if not is_numeric_date(value))
        if wrong:
            problems.append(f"assertion: {', '.join(wrong)} not a number of seconds")
            return None
        now = self._now()
        if claims["exp"] <= now - self._leeway:
            problems.append("assertion: it has expired (exp)")
        if claims["iat"] > now + self._leeway:
            problems.append("assertion: it was issued in the future (iat)")
        if claims.get("nbf", now) > now + self._leeway:
            problems.append("assertion: it is not yet valid (nbf)")
        if claims["tnt"] != tenant["baseUrl"]:
            problems.append(f"tnt {claims['tnt']!r} is not the site's baseUrl")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.startswith(_ASSERTION_SUBJECT_PREFIX):
            problems.append(f"sub {subject!r}")
        elif subject == _ASSERTION_SUBJECT_PREFIX:
            problems.append("sub names no account")
        lifetime = claims["exp"] - claims["iat"]
        if not 0 < lifetime <= ASSERTION_LIFETIME:
            problems.append(f"assertion lifetime {lifetime}")
        return claims

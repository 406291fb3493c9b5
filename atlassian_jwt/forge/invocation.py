"""A verified Forge invocation, as a typed, immutable object: who calls, from where, with what.

:meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request` returns a
:class:`ForgeInvocation`: the claims of the Forge invocation token (FIT), the context the remote
contract promises (the app, its installation, the API base URL, the environment, the module, the
site, the user), the trace headers, and the OAuth tokens Forge sends along
(``x-forge-oauth-system``, ``x-forge-oauth-user``) as :class:`ForgeToken` objects, whose
``repr`` never shows them. :meth:`ForgeInvocation.product_url` builds the URL of a product API
call from a path, so that nobody joins ``apiBaseUrl`` and a path by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NoReturn, Union
from urllib.parse import unquote, urlencode

from .. import exceptions as exc
from ..tokens import Headers, header_value, is_bearer_token, is_numeric_date, unverified_claims
from ..url_utils import check_service_url

__all__ = [
    "DEFAULT_EXPIRY_MARGIN",
    "FORGE_REQUIRED_CONTEXT",
    "SPAN_ID_HEADER",
    "SYSTEM_TOKEN_HEADER",
    "TRACE_ID_HEADER",
    "USER_TOKEN_HEADER",
    "ForgeContext",
    "ForgeInvocation",
    "ForgeToken",
    "QueryParams",
    "build_product_url",
    "frozen_json",
]

#: The header with the app system token (the manifest's ``appSystemToken``).
SYSTEM_TOKEN_HEADER = "x-forge-oauth-system"
#: The header with the invoking user's token (the manifest's ``appUserToken``).
USER_TOKEN_HEADER = "x-forge-oauth-user"
#: The B3 trace id header Forge always sends: the id of the whole trace.
TRACE_ID_HEADER = "x-b3-traceid"
#: The B3 span id header Forge always sends.
SPAN_ID_HEADER = "x-b3-spanid"

#: The context every invocation carries, by the remote contract: without it a token is
#: refused by :meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request`.
FORGE_REQUIRED_CONTEXT = ("app.id", "app.installationId", "app.apiBaseUrl")

#: Seconds before its ``exp`` from which a Forge OAuth token counts as expired, so that a
#: request is not sent with a token that expires on its way.
DEFAULT_EXPIRY_MARGIN = 30.0

#: Query parameters for :meth:`ForgeInvocation.product_url`: a mapping of names to a value or
#: a sequence of values.
QueryParams = Mapping[str, Union[str, int, Sequence[Union[str, int]]]]

# An installation ARI is short printable text: the SQL stores index it as VARCHAR(255).
_INSTALLATION_ID = re.compile(r"[\x21-\x7e]{1,255}")
# Printable ASCII without spaces: what a URL the app sends credentials to may be made of.
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
# B3 ids are 16 or 32 hex digits; anything else is not logged or kept.
_B3_ID = re.compile(r"[0-9a-fA-F]{16}|[0-9a-fA-F]{32}")
# What a product API path may not contain: whitespace, control characters, a backslash (read
# as "/" by some servers), a fragment.
_UNSAFE_PATH = re.compile(r"[\x00-\x20\x7f\\#]")


@dataclass(frozen=True)
class ForgeToken:
    """A Forge OAuth token (``x-forge-oauth-system`` or ``x-forge-oauth-user``): a bearer
    credential for Atlassian's API, sent as ``Authorization: Bearer <value>``.

    The token is Atlassian's to verify, not the app's: :attr:`expires_at` is read from its
    ``exp`` **without verifying anything**, only to avoid sending a token that has expired.
    Neither ``repr`` nor ``str`` shows the value.

    >>> from datetime import datetime, timezone
    >>> ForgeToken("eyJ.secret.token", datetime(2030, 1, 1, tzinfo=timezone.utc))
    ForgeToken(expires_at=datetime.datetime(2030, 1, 1, 0, 0, tzinfo=datetime.timezone.utc))
    """

    #: The token itself. Never log it.
    value: str = field(repr=False)
    #: When it stops working (an aware UTC datetime), or ``None`` when its ``exp`` cannot be
    #: read.
    expires_at: datetime | None

    def __str__(self) -> str:
        return repr(self)

    @classmethod
    def from_header(cls, value: str, *, max_length: int | None = None) -> ForgeToken:
        """Make a token from the value of its header, reading its ``exp`` **unverified**.

        :param value: the header's value, a bearer token (RFC 6750 ``b64token``).
        :param max_length: a longer value is refused.
        :raises ValueError: if ``value`` is not a bearer token, or is too long. The message
            never shows it.
        """
        if not is_bearer_token(value) or (max_length is not None and len(value) > max_length):
            raise ValueError("A Forge OAuth token must be a bearer token (RFC 6750 b64token)")
        return cls(value, _unverified_expiry(value))

    def expired(self, *, margin: float = DEFAULT_EXPIRY_MARGIN, now: float | None = None) -> bool:
        """Whether the token has expired, or expires within ``margin`` seconds.

        A token whose expiry is unknown counts as unexpired: Atlassian's answer will tell.

        :param margin: seconds before ``exp`` from which the token counts as expired.
        :param now: the time, in seconds since the epoch; the current time by default.
        """
        if self.expires_at is None:
            return False
        current = datetime.now(timezone.utc).timestamp() if now is None else now
        return self.expires_at.timestamp() - margin <= current


@dataclass(frozen=True)
class ForgeContext:
    """The context a Forge invocation token's claims name, read as written: nothing checked.

    One reading of the claims for everything that shows them: :class:`ForgeInvocation` takes
    its context from it once the token is verified and its required context checked, and the
    command line shows with it what an unverified token says.

    >>> ForgeContext.from_claims({"app": {"module": {"type": "core:endpoint"}},
    ...                           "context": {"moduleKey": "sync"}}).module_key
    'sync'

    .. warning:: Read from claims that were not verified, every value is the sender's word.
    """

    #: ``app.id``, or ``None``.
    app_id: str | None
    #: ``app.installationId``, or ``None``.
    installation_id: str | None
    #: ``app.apiBaseUrl``, or ``None`` (not checked here).
    api_base_url: str | None
    #: ``app.environment.type``, or ``None``.
    environment_type: str | None
    #: ``app.environment.id``, or ``None``.
    environment_id: str | None
    #: ``app.module.key``, else ``context.moduleKey``, or ``None``.
    module_key: str | None
    #: ``app.module.type``, or ``None``.
    module_type: str | None
    #: ``context.cloudId``, or ``None``.
    cloud_id: str | None
    #: ``principal``: the invoking user's account id, or ``None`` when no user acts.
    account_id: str | None
    #: ``app.appVersion``, or ``None``.
    app_version: str | None
    #: ``context.siteUrl``, or ``None``.
    site_url: str | None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> ForgeContext:
        """Read the context of an invocation token's claims; a value that is not a non-empty
        string (or a member that is not an object) reads as ``None``.

        :param claims: the token's claims, verified or not (see the warning above).
        """
        app = _object(claims.get("app"))
        environment = _object(app.get("environment"))
        module = _object(app.get("module"))
        context = _object(claims.get("context"))
        return cls(
            app_id=_text(app.get("id")),
            installation_id=_text(app.get("installationId")),
            api_base_url=_text(app.get("apiBaseUrl")),
            environment_type=_text(environment.get("type")),
            environment_id=_text(environment.get("id")),
            module_key=_text(module.get("key")) or _text(context.get("moduleKey")),
            module_type=_text(module.get("type")),
            cloud_id=_text(context.get("cloudId")),
            account_id=_text(claims.get("principal")),
            app_version=_text(app.get("appVersion")),
            site_url=_text(context.get("siteUrl")),
        )


@dataclass(frozen=True)
class ForgeInvocation:
    """A verified Forge invocation: what the FIT says and what came with it. Immutable.

    Made by :meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request`; every value comes
    from a token whose signature, issuer, audience and expiry were checked, or from the request
    headers that came with it (the trace ids and the OAuth tokens, which Forge adds to the
    request it signs the FIT for).

    The ``repr`` shows the context, never a token::

        ForgeInvocation(app_id='ari:cloud:ecosystem::app/…', installation_id='ari:…',
                        api_base_url='https://api.atlassian.com/ex/jira/…', …,
                        app_token=ForgeToken(expires_at=…), user_token=None)
    """

    #: Every verified claim, read-only (nested objects and arrays too; the whole is still
    #: JSON: ``json.dumps(invocation.claims)`` works).
    claims: Mapping[str, Any] = field(repr=False)
    #: The app's ARI (``app.id``).
    app_id: str
    #: The installation ARI (``app.installationId``): the key of everything the app keeps per
    #: installation. It changes when the app is reinstalled.
    installation_id: str
    #: Where product API calls go (``app.apiBaseUrl``), e.g.
    #: ``https://api.atlassian.com/ex/jira/<cloudId>``: ``https://``, checked (plain
    #: ``http://`` only to a loopback address, for tests). See :meth:`product_url`.
    api_base_url: str
    #: ``DEVELOPMENT``, ``STAGING`` or ``PRODUCTION`` (``app.environment.type``), or ``None``.
    environment_type: str | None
    #: The environment's ARI (``app.environment.id``), or ``None``.
    environment_id: str | None
    #: The key of the module that made the call (``app.module.key``, else
    #: ``context.moduleKey``), or ``None``.
    module_key: str | None
    #: Its type (``app.module.type``): ``core:endpoint`` for events, triggers and backend
    #: calls, the UI module's type for a front end's call; or ``None``.
    module_type: str | None
    #: The site's cloud id (``context.cloudId``), or ``None`` (Bitbucket).
    cloud_id: str | None
    #: The invoking user's account id (``principal``); ``None`` for events, scheduled
    #: triggers and other calls with no user.
    account_id: str | None
    #: ``x-b3-traceid``, when it is 16 or 32 hex digits, else ``None``: log it to follow a
    #: call through Atlassian's logs.
    trace_id: str | None
    #: ``x-b3-spanid``, likewise.
    span_id: str | None
    #: The app system token (``x-forge-oauth-system``), or ``None`` when the manifest's
    #: endpoint does not ask for ``appSystemToken``.
    app_token: ForgeToken | None
    #: The invoking user's token (``x-forge-oauth-user``), or ``None``.
    user_token: ForgeToken | None
    #: ``app.appVersion``, or ``None``.
    app_version: str | None = field(default=None, repr=False)
    #: ``context.siteUrl`` (e.g. ``https://example.atlassian.net``) when Forge sends it, else
    #: ``None``. A display value: the site is :attr:`cloud_id`.
    site_url: str | None = field(default=None, repr=False)
    #: ``app.license`` (read-only), present for paid apps in production; else ``None``.
    license: Mapping[str, Any] | None = field(default=None, repr=False)
    #: The ``context`` claim (read-only; empty if absent): product context such as
    #: ``extension``, ``localId``.
    context: Mapping[str, Any] = field(default_factory=lambda: _FrozenDict(), repr=False)
    #: When the FIT expires (an aware UTC datetime). FITs live for seconds: background work
    #: uses the app token, kept in the tenant store
    #: (:func:`~atlassian_jwt.forge.keep_app_token`).
    expires_at: datetime | None = field(default=None, repr=False)

    @classmethod
    def from_verified_claims(
        cls,
        claims: Mapping[str, Any],
        headers: Headers | None = None,
        *,
        app_ari: str | None = None,
        max_token_length: int | None = None,
    ) -> ForgeInvocation:
        """Build the invocation from claims **that have been verified**, and the headers.

        :meth:`~atlassian_jwt.ForgeInvocationVerifier.verify_request` calls this once the
        token is verified; call it yourself only with claims a verifier returned.

        .. warning:: Nothing here checks a signature. Claims read from a token without
           verifying it (``decode_unverified``) are whatever the sender wrote.

        :param claims: the verified claims.
        :param headers: the request headers: the ``x-forge-oauth-*`` tokens and the
            ``x-b3-*`` ids are read from them.
        :param app_ari: the app's ARI, which ``app.id`` must be; by default the token's
            ``aud`` when that is one string.
        :param max_token_length: a longer ``x-forge-oauth-*`` header is refused.
        :raises ForgeContextMissingError: if ``app.id``, ``app.installationId`` or
            ``app.apiBaseUrl`` is missing.
        :raises ForgeContextInvalidError: if one of them is not usable (see the exception), or
            an ``x-forge-oauth-*`` header is not a bearer token.
        """
        app = claims.get("app")
        if app is not None and not isinstance(app, Mapping):
            _invalid("app", "The Forge invocation's app claim is not an object")
        app = app or {}
        app_id = _required_text(app, "id")
        installation_id = _required_text(app, "installationId")
        api_base_url = _required_text(app, "apiBaseUrl")
        expected = app_ari if app_ari is not None else claims.get("aud")
        if isinstance(expected, str) and app_id != expected:
            _invalid("app.id", "The Forge invocation's app.id is not the app the token is for")
        if not _INSTALLATION_ID.fullmatch(installation_id):
            _invalid(
                "app.installationId",
                "The Forge invocation's app.installationId is not printable text of at most "
                "255 characters",
            )
        _check_api_base_url(api_base_url)
        read = ForgeContext.from_claims(claims)
        license_claim = app.get("license")
        return cls(
            claims=frozen_json(claims),
            app_id=app_id,
            installation_id=installation_id,
            api_base_url=api_base_url,
            environment_type=read.environment_type,
            environment_id=read.environment_id,
            module_key=read.module_key,
            module_type=read.module_type,
            cloud_id=read.cloud_id,
            account_id=read.account_id,
            trace_id=_b3_id(header_value(headers, TRACE_ID_HEADER)),
            span_id=_b3_id(header_value(headers, SPAN_ID_HEADER)),
            app_token=_token_header(headers, SYSTEM_TOKEN_HEADER, max_token_length),
            user_token=_token_header(headers, USER_TOKEN_HEADER, max_token_length),
            app_version=read.app_version,
            site_url=read.site_url,
            license=frozen_json(license_claim) if isinstance(license_claim, Mapping) else None,
            context=frozen_json(_object(claims.get("context"))),
            expires_at=_datetime(claims.get("exp")),
        )

    def product_url(self, path: str, params: QueryParams | None = None) -> str:
        """Return the URL of a product API call: :attr:`api_base_url` followed by ``path``.

        >>> invocation = ForgeInvocation.from_verified_claims({
        ...     "aud": "ari:cloud:ecosystem::app/1", "app": {
        ...         "id": "ari:cloud:ecosystem::app/1",
        ...         "installationId": "ari:cloud:ecosystem::installation/2",
        ...         "apiBaseUrl": "https://api.atlassian.com/ex/jira/3"}})
        >>> invocation.product_url("/rest/api/3/search", {"jql": "project = A"})
        'https://api.atlassian.com/ex/jira/3/rest/api/3/search?jql=project+%3D+A'

        See :func:`build_product_url` for what ``path`` may be.
        """
        return build_product_url(self.api_base_url, path, params)


def build_product_url(api_base_url: str, path: str, params: QueryParams | None = None) -> str:
    """Join an API base URL and the path of a product API call, refusing paths that leave it.

    :param api_base_url: a Forge API base URL (``https://api.atlassian.com/ex/jira/<cloudId>``).
    :param path: a path starting with one ``/``, such as ``/rest/api/3/myself`` (Confluence's
        start with ``/wiki``), with or without a query string.
    :param params: query parameters to add, encoded (``+`` for a space, as forms do).
    :returns: ``api_base_url`` (without a trailing ``/``) followed by ``path`` and the query.
    :raises ValueError: for an absolute URL or ``//host`` (another origin), a ``.`` or ``..``
        segment, encoded or not (``/../ex/jira/<another cloudId>`` would reach another site
        with this installation's token), whitespace, a control character, a backslash or a
        ``#``.

    >>> build_product_url("https://api.atlassian.com/ex/jira/3/", "/rest/api/3/myself")
    'https://api.atlassian.com/ex/jira/3/rest/api/3/myself'
    >>> build_product_url("https://api.atlassian.com/ex/jira/3", "/rest/%2e%2e/x")
    Traceback (most recent call last):
    ...
    ValueError: path may not have '.' or '..' segments: they would leave the API base URL
    """
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise ValueError(
            "path must be a path on the product's API starting with one '/', such as "
            "'/rest/api/3/myself', not a URL"
        )
    if _UNSAFE_PATH.search(path):
        raise ValueError("path may not contain whitespace, control characters, '\\' or '#'")
    route, _, query = path.partition("?")
    for segment in route.split("/"):
        # "..;x" is ".." to servlet containers, which drop path parameters.
        if unquote(segment).split(";", 1)[0] in (".", ".."):
            raise ValueError(
                "path may not have '.' or '..' segments: they would leave the API base URL"
            )
    url = api_base_url.rstrip("/") + path
    if params:
        url += ("&" if query else "?") + urlencode(params, doseq=True)
    return url


class _FrozenDict(dict):  # type: ignore[type-arg]
    """A dict that refuses changes: JSON-serialisable (``json.dumps`` takes it), read-only."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("A verified invocation's JSON is read-only: change a copy")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda item: item[0])))

    def __copy__(self) -> _FrozenDict:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> _FrozenDict:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return _FrozenDict, (dict(self),)


def frozen_json(value: Any) -> Any:
    """Return a read-only deep copy of a JSON value: objects become read-only dicts (still
    ``dict`` instances, so ``json.dumps`` takes them), arrays tuples.

    >>> frozen = frozen_json({"a": [1, {"b": 2}]})
    >>> frozen["a"]
    (1, {'b': 2})
    >>> frozen["a"][1]["b"] = 3
    Traceback (most recent call last):
    ...
    TypeError: A verified invocation's JSON is read-only: change a copy
    """
    if isinstance(value, Mapping):
        return _FrozenDict((str(key), frozen_json(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(frozen_json(item) for item in value)
    return value


def _invalid(claim: str, message: str) -> NoReturn:
    raise exc.ForgeContextInvalidError(message, claim=claim)


def _required_text(app: Mapping[str, Any], name: str) -> str:
    value = app.get(name)
    if value is None:
        raise exc.ForgeContextMissingError(f"app.{name}")
    if not isinstance(value, str) or not value:
        _invalid(f"app.{name}", f"The Forge invocation's app.{name} is not a non-empty string")
    return value


def _check_api_base_url(url: str) -> None:
    message = (
        "The Forge invocation's app.apiBaseUrl must be an https:// URL (plain http:// only to "
        "a loopback address) without credentials, query or fragment"
    )
    if not _PRINTABLE.fullmatch(url):
        _invalid("app.apiBaseUrl", message)
    try:
        check_service_url(url, "app.apiBaseUrl")
    except ValueError:
        _invalid("app.apiBaseUrl", message)


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _b3_id(value: str | None) -> str | None:
    return value if value is not None and _B3_ID.fullmatch(value) else None


def _token_header(headers: Headers | None, name: str, max_length: int | None) -> ForgeToken | None:
    value = header_value(headers, name)
    if value is None or not value.strip():
        return None
    try:
        return ForgeToken.from_header(value.strip(), max_length=max_length)
    except ValueError:
        _invalid(name, f"The {name} header is not a bearer token")


def _unverified_expiry(token: str) -> datetime | None:
    try:
        exp = unverified_claims(token, max_length=len(token)).get("exp")
    except exc.DecodeError:
        return None
    return _datetime(exp)


def _datetime(seconds: Any) -> datetime | None:
    if not is_numeric_date(seconds):
        return None
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):  # beyond the years datetime can hold
        return None


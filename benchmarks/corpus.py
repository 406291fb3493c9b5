"""The requests the benchmark times: a few hundred distinct, realistic Connect requests.

Each request is one that an app meets: a REST call it signs for Jira or Confluence, an iframe
load the product signs with ``?jwt=`` (with ``lic``, ``tz``, ``cp``, ``xdm_e``, ...), a webhook
or lifecycle callback with ``Authorization: JWT``. They carry repeated parameters, ``+`` and
``%20`` spaces, percent-encoded and raw unicode, blank values, commas and quotes, so that the
canonicaliser does all of its work; and ids, keys and offsets vary so that no two are alike and
no cache could answer a repeat.

The corpus is built deterministically (a seeded generator) with only the standard library, so
that the old package's worker can receive it as JSON. Tokens are made separately, by
:func:`sign_incoming`, as the product makes them.

Every request is also canonicalised alike by this library and by the 3.0.0 package: the corpus
avoids the inputs where 3.0.0 is wrong (double or trailing slashes, ``;params``, a ``:`` in the
first segment, empty names), so that a token valid for one is valid for the other and the two
``authenticate`` rows time the same outcome.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.parse import quote

__all__ = [
    "JIRA",
    "CONFLUENCE",
    "Install",
    "Request",
    "Tenant",
    "build_corpus",
    "build_installs",
    "build_invocations",
    "build_shape",
    "build_tenants",
    "scaling_cases",
    "sign_incoming",
]

JIRA = "https://benchmark-jira.atlassian.net"
CONFLUENCE = "https://benchmark-confluence.atlassian.net/wiki"
APP_KEY = "com.example.benchmark-app"
#: The app's base URL, which Atlassian puts in the ``aud`` of install tokens.
APP_BASE_URL = "https://benchmark-app.example.com"
#: Seconds the benchmark's tokens live: longer than a whole run, so that none expires in one.
TOKEN_LIFETIME = 3 * 3600
#: The ``kid`` of the key that signs the benchmark's install tokens.
INSTALL_KID = "benchmark-0e50fccb-239d-4991-a5db-dc850ba3f236"


class Tenant(NamedTuple):
    """An installed tenant: what the product sent to the ``installed`` callback."""

    client_key: str
    shared_secret: str
    base_url: str

    def info(self) -> dict[str, Any]:
        """The tenant information as ``encode_token(**info)`` takes it."""
        return {
            "key": APP_KEY,
            "clientKey": self.client_key,
            "sharedSecret": self.shared_secret,
            "baseUrl": self.base_url,
        }


class Request(NamedTuple):
    """One request: its method and URL (without a ``jwt`` parameter) and how it is signed."""

    kind: str
    method: str
    url: str
    #: Index of the tenant (in :func:`build_tenants`) whose request this is.
    tenant: int
    #: True when the product puts the token in a ``jwt`` query parameter (iframe loads),
    #: False when in an ``Authorization: JWT`` header.
    token_in_query: bool

    def received(self, token: str) -> tuple[str, dict[str, str]]:
        """Return the URL and headers of this request as the app receives it, with ``token``."""
        if self.token_in_query:
            separator = "&" if "?" in self.url else "?"
            return f"{self.url}{separator}jwt={token}", {}
        return self.url, {"Authorization": f"JWT {token}", "Content-Type": "application/json"}


def build_tenants(count: int = 8, seed: int = 6) -> list[Tenant]:
    """Return ``count`` tenants, alternately Jira and Confluence, each with its own secret."""
    rng = random.Random(seed)
    return [
        Tenant(
            client_key=_uuid(rng),
            # 64 characters, as Atlassian's shared secrets are, and enough for PyJWT's key check.
            shared_secret="".join(rng.choice(_ALNUM) for _ in range(64)),
            base_url=JIRA if index % 2 == 0 else CONFLUENCE,
        )
        for index in range(count)
    ]


def build_corpus(size: int = 300, seed: int = 6, tenants: int = 8) -> list[Request]:
    """Return ``size`` distinct requests, cycling through every kind below.

    :raises RuntimeError: if the generator failed to make ``size`` distinct requests.
    """
    rng = random.Random(seed)
    requests: list[Request] = []
    seen: set[tuple[str, str]] = set()
    attempts = 0
    while len(requests) < size:
        attempts += 1
        if attempts > size * 20:
            raise RuntimeError("could not generate enough distinct requests")
        make, product = _KINDS[len(requests) % len(_KINDS)]
        confluence = product == "confluence" or (product == "either" and rng.random() < 0.5)
        # Even tenants are Jira sites, odd ones Confluence sites (see build_tenants).
        tenant = rng.randrange(int(confluence), tenants, 2)
        kind, method, url, in_query = make(rng, confluence)
        if (method, url) in seen:
            continue
        seen.add((method, url))
        requests.append(Request(kind, method, url, tenant, in_query))
    return requests


def incoming_claims(request: Request, tenant: Tenant, qsh: str, now: int) -> dict[str, Any]:
    """The claims the product puts in a request token (no ``aud``, as Jira and Confluence)."""
    return {
        "iss": tenant.client_key,
        "sub": f"557058:{tenant.client_key[:8]}-{len(request.url):04d}",
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "qsh": qsh,
        "context": {},
    }


def sign_incoming(
    requests: list[Request],
    tenants: list[Tenant],
    hash_url: Callable[[str, str], str],
    encode: Callable[[dict[str, Any], str], str],
    now: int,
    secret_for: Callable[[Tenant], str] | None = None,
) -> list[str]:
    """Sign each request as the product does; return the tokens, in the requests' order.

    :param hash_url: computes the ``qsh`` from method and URL.
    :param encode: signs claims with a secret (``jwt.encode`` with HS256).
    :param secret_for: the secret to sign with (the tenant's own by default; another one makes
        tokens whose signature is bad).
    """
    tokens = []
    for request in requests:
        tenant = tenants[request.tenant]
        claims = incoming_claims(request, tenant, hash_url(request.method, request.url), now)
        secret = secret_for(tenant) if secret_for else tenant.shared_secret
        tokens.append(encode(claims, secret))
    return tokens


class Install(NamedTuple):
    """A signed ``installed`` or ``uninstalled`` callback, without its token."""

    url: str
    body: bytes
    client_key: str

    def claims(self, qsh: str, now: int) -> dict[str, Any]:
        """The claims Atlassian signs (RS256) for this callback."""
        return {
            "iss": self.client_key,
            "aud": APP_BASE_URL,
            "iat": now,
            # Atlassian's live three minutes; these outlive a whole run of the benchmark, which
            # changes nothing in the work of verifying them.
            "exp": now + TOKEN_LIFETIME,
            "qsh": qsh,
            "context": {},
        }


def build_installs(size: int = 300, seed: int = 6) -> list[Install]:
    """Return ``size`` lifecycle callbacks of distinct tenants, with bodies as Atlassian sends.

    The raw JSON body is what the app receives; each names another tenant, with its own
    secret and site, so that tokens and bodies never repeat.
    """
    rng = random.Random(seed)
    installs = []
    for index in range(size):
        event = "uninstalled" if index % 5 == 4 else "installed"
        client_key = _uuid(rng)
        product = rng.choice(["jira", "confluence"])
        site = f"https://tenant-{index}-{client_key[:6]}.atlassian.net"
        body = {
            "key": APP_KEY,
            "clientKey": client_key,
            "sharedSecret": "".join(rng.choice(_ALNUM) for _ in range(64)),
            "serverVersion": "100275",
            "pluginsVersion": f"1001.0.0-SNAPSHOT.{rng.randrange(10**6)}",
            "baseUrl": site + ("/wiki" if product == "confluence" else ""),
            "displayUrl": site + ("/wiki" if product == "confluence" else ""),
            "productType": product,
            "description": "Atlassian JIRA at " + site,
            "eventType": event,
            "cloudId": _uuid(rng),
        }
        url = f"/lifecycle/{event}"
        installs.append(Install(url, json.dumps(body).encode(), client_key))
    return installs


def build_invocations(
    size: int, app_ari: str, issuer: str, now: int, seed: int = 6
) -> list[dict[str, Any]]:
    """Return the claims of ``size`` distinct Forge invocation tokens (FIT) for the app ``app_ari``.

    As Forge sends them to a remote back end: ``app`` (installation, API base URL, environment,
    module), ``context`` (cloud id, module key, the product context of a Jira issue or a
    Confluence page) and, for UI calls, ``principal``; events and scheduled triggers have none.
    Every token has its own ``jti``, and its own site and installation.
    """
    rng = random.Random(seed)
    invocations = []
    for index in range(size):
        cloud_id = _uuid(rng)
        product = rng.choice(["jira", "confluence"])
        module_key = rng.choice(["issue-panel", "space-page", "event-handler", "nightly-trigger"])
        extension: dict[str, Any]
        if product == "jira":
            key = f"{rng.choice(_PROJECTS)}-{rng.randrange(1, 99999)}"
            extension = {
                "type": "jira:issuePanel",
                "issue": {"id": str(rng.randrange(10**4, 10**6)), "key": key, "type": "Task"},
                "project": {"id": str(rng.randrange(10**4, 10**5)), "key": key.split("-")[0]},
            }
        else:
            extension = {
                "type": "confluence:spacePage",
                "space": {"id": str(rng.randrange(10**5, 10**8)), "key": rng.choice(_SPACES)},
                "content": {"id": str(rng.randrange(10**5, 10**9)), "type": "page"},
            }
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": app_ari,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,  # Forge's live minutes; see Install.claims
            "jti": _uuid(rng),
            "app": {
                "id": app_ari,
                "installationId": f"ari:cloud:ecosystem::installation/{_uuid(rng)}",
                "apiBaseUrl": f"https://api.atlassian.com/ex/{product}/{cloud_id}",
                "environment": {"type": "PRODUCTION", "id": _uuid(rng)},
                "module": {"key": module_key, "type": f"xen:{product}"},
            },
            "context": {
                "cloudId": cloud_id,
                "moduleKey": module_key,
                "localId": f"{module_key}-{index}",
                "extension": extension,
            },
        }
        if not module_key.startswith(("event", "nightly")):
            claims["principal"] = _account_id(rng)
        invocations.append(claims)
    return invocations


#: Parameter counts and path sizes (bytes) of the scaling table.
PARAM_COUNTS = (10, 100, 1_000, 10_000)
PATH_SIZES = (100, 1_024, 4_096, 16_384, 65_536)


def scaling_cases() -> list[tuple[str, int, str]]:
    """Return ``(series, n, url)`` for the scaling table.

    ``params``: ``n`` parameters, in pairs sharing a name, a third of the values
    percent-encoded unicode and a third with spaces, so that decoding, sorting and encoding all
    grow with ``n``. ``path``: an ``n``-byte path of REST-like segments with escapes, under a
    short query. ``query``: a 64 KiB URL made of as many such parameters as fit (``n``).
    """
    cases = [("params", count, _query_url(count)) for count in PARAM_COUNTS]
    for size in PATH_SIZES:
        path = ""
        while len(path) < size:
            path += f"/issue/ABC-{len(path)}/comment%20x"
        cases.append(("path", size, path[:size] + "?expand=names&startAt=0"))
    url = _query_url(0)
    count = 0
    while len(url) + 1 + len(_param(count)) <= 64 * 1024:
        url += "&" * (count > 0) + _param(count)
        count += 1
    cases.append(("query", count, url))
    return cases


def _query_url(count: int) -> str:
    return "/rest/api/3/search?" + "&".join(_param(index) for index in range(count))


def _param(index: int) -> str:
    value = (f"v{index}", f"a%20b+{index}", f"%C3%BC%E6%9D%B1{index}")[index % 3]
    return f"field{index // 2}={value}"


# --- the kinds of request ------------------------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_PROJECTS = ["DEMO", "ABC", "OPS", "WEB", "MOBILE", "SEC", "DATA", "HR"]
_SPACES = ["DEV", "TEAM", "DOCS", "~jurgen", "MKT", "ENG"]
_NAMES = ["Jürgen Müller", "Zoë Saldaña", "Łukasz Żółw", "山田 太郎", "Søren Ødegård", "José"]
_WORDS = ["release notes", "Café menu", "Q3 plan", "naïve résumé", "東京 office", "bug 🐛 triage"]
_TIMEZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]
_LOCALES = ["en-US", "de-DE", "ja-JP", "fr-FR", "pt-BR"]
_STATUSES = ["To Do", "In Progress", "Done", "In Review"]


def _uuid(rng: random.Random) -> str:
    hexes = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}"


def _account_id(rng: random.Random) -> str:
    return "557058:" + _uuid(rng)


def _q(text: str) -> str:
    """Percent-encode as browsers and HTTP clients do (UTF-8, space as %20)."""
    return quote(text, safe="")


def _plus(text: str) -> str:
    """Form-encode (space as ``+``), as HTML forms and Java's URLEncoder do."""
    return quote(text, safe="").replace("%20", "+")


def _jira_search(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    project = rng.choice(_PROJECTS)
    status = rng.choice(_STATUSES)
    jql = f'project = {project} AND status = "{status}" ORDER BY updated DESC'
    fields = ",".join(rng.sample(["summary", "status", "assignee", "labels", "priority"], 3))
    url = (
        f"/rest/api/3/search?jql={_q(jql)}&startAt={rng.randrange(0, 5000, 50)}"
        f"&maxResults=50&fields={fields}&expand=names&expand=renderedFields"
    )
    return "jira-rest", "GET", url, False


def _jira_issue(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    key = f"{rng.choice(_PROJECTS)}-{rng.randrange(1, 99999)}"
    method, suffix = rng.choice(
        [
            ("GET", "?fields=summary&fields=status&fields=comment&properties=*all"),
            ("PUT", "?notifyUsers=false&overrideScreenSecurity=false"),
            ("POST", "/comment?expand=renderedBody"),
            ("GET", "/changelog?startAt=0&maxResults=100"),
            ("DELETE", "?deleteSubtasks=true"),
        ]
    )
    return "jira-rest", method, f"/rest/api/3/issue/{key}{suffix}", False


def _jira_user_search(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    name = rng.choice(_NAMES)
    # Half percent-encoded (%20 spaces), half form-encoded (+ spaces).
    encode = _q if rng.random() < 0.5 else _plus
    url = (
        f"/rest/api/3/user/search?query={encode(name)}&startAt={rng.randrange(0, 1000)}"
        f"&maxResults={rng.choice([10, 20, 50])}"
    )
    return "jira-rest", "GET", url, False


def _agile_board(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    board = rng.randrange(1, 5000)
    states = rng.sample(["future", "active", "closed"], rng.randint(2, 3))
    url = f"/rest/agile/1.0/board/{board}/sprint?" + "&".join(f"state={s}" for s in states)
    url += f"&startAt={rng.randrange(0, 200)}&maxResults=50"
    return "jira-rest", "GET", url, False


def _confluence_content(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    title = f"{rng.choice(_WORDS)} {rng.randrange(1, 10000)}"
    url = (
        f"/wiki/rest/api/content?spaceKey={_q(rng.choice(_SPACES))}&title={_plus(title)}"
        "&expand=body.storage,version,space&status=current&status=draft"
        f"&limit={rng.choice([10, 25, 50])}&start={rng.randrange(0, 500)}"
    )
    return "confluence-rest", "GET", url, False


def _confluence_cql(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    word = rng.choice(_WORDS)
    cql = f'type = page AND space = "{rng.choice(_SPACES)}" AND text ~ "{word}"'
    context = _q('{"contentStatuses":["current"]}')
    url = (
        f"/wiki/rest/api/search?cql={_q(cql)}&cqlcontext={context}"
        f"&limit=25&start={rng.randrange(0, 1000)}&excerpt=highlight"
    )
    return "confluence-rest", "GET", url, False


def _confluence_v2(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    page = rng.randrange(10**5, 10**9)
    method, suffix = rng.choice(
        [
            ("GET", "?body-format=storage&get-draft=false&version=3"),
            ("PUT", ""),
            ("GET", "/children?limit=250&sort=-modified-date&cursor="),
            ("POST", "/labels?prefix=global&name=" + _q(rng.choice(_WORDS))),
        ]
    )
    return "confluence-rest", method, f"/wiki/api/v2/pages/{page}{suffix}", False


def _iframe(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    host = CONFLUENCE if confluence else JIRA
    params = [
        ("xdm_e", _q(host.rsplit("/wiki", 1)[0])),
        ("xdm_c", "channel-com.example.benchmark-app__" + rng.choice(["panel", "glance", "page"])),
        ("cp", "/wiki" if confluence else ""),
        ("xdm_deprecated_addon_key_do_not_use", "com.example.benchmark-app"),
        ("lic", rng.choice(["active", "none", "evaluation"])),
        ("cv", "1001.0.0-SNAPSHOT"),
        ("tz", _q(rng.choice(_TIMEZONES))),
        ("loc", rng.choice(_LOCALES)),
        ("user_id", _q(_account_id(rng))),
    ]
    if confluence:
        path = "/confluence/macro"
        params += [
            ("space.key", rng.choice(_SPACES)),
            ("page.id", str(rng.randrange(10**5, 10**9))),
            ("page.title", _q(f"{rng.choice(_WORDS)} {rng.randrange(100)}")),
            ("macro.id", _uuid(rng)),
            ("outputType", "display"),
        ]
    else:
        path = "/jira/issue-panel"
        key = rng.choice(_PROJECTS)
        params += [
            ("issue.key", f"{key}-{rng.randrange(1, 99999)}"),
            ("issue.id", str(rng.randrange(10000, 999999))),
            ("project.key", key),
            ("project.id", str(rng.randrange(10000, 99999))),
        ]
    rng.shuffle(params)
    return "iframe", "GET", path + "?" + "&".join(f"{n}={v}" for n, v in params), True


def _webhook(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    if confluence:
        event = rng.choice(["page_created", "page_updated", "comment_created"])
        url = f"/webhooks/confluence/{event}?page.id={rng.randrange(10**5, 10**9)}"
        url += f"&space.key={_q(rng.choice(_SPACES))}"
    else:
        event = rng.choice(["jira:issue_updated", "jira:issue_created", "comment_created"])
        url = (
            f"/webhooks/jira?event={_q(event)}&issue.id={rng.randrange(10000, 999999)}"
            f"&issue.key={rng.choice(_PROJECTS)}-{rng.randrange(1, 99999)}"
            f"&user_id={_q(_account_id(rng))}&user_key=JIRAUSER{rng.randrange(10000, 99999)}"
        )
    return "webhook", "POST", url, False


def _lifecycle(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    # Lifecycle hooks carry no query; vary the app's mount path to keep the URLs distinct.
    hook = rng.choice(["enabled", "disabled"])
    return "lifecycle", "POST", f"/apps/{rng.randrange(10**6)}/lifecycle/{hook}", False


def _raw_unicode(rng: random.Random, confluence: bool) -> tuple[str, str, str, bool]:
    # Some servers hand the app a decoded IRI: raw unicode and raw spaces in the query.
    name = rng.choice(_NAMES)
    url = (
        f"/app/search?q={name} {rng.randrange(1000)}&label={rng.choice(_WORDS)}"
        f"&label={rng.choice(_WORDS)}!&sort=name"
    )
    return "raw-unicode", "GET", url, False


# Each kind with the product whose tenants make or receive it. Iframe loads and webhooks, the
# bulk of what an app receives, come more often than the rest.
_KINDS = [
    (_jira_search, "jira"),
    (_iframe, "either"),
    (_jira_issue, "jira"),
    (_webhook, "either"),
    (_jira_user_search, "jira"),
    (_iframe, "either"),
    (_agile_board, "jira"),
    (_confluence_content, "confluence"),
    (_iframe, "either"),
    (_confluence_cql, "confluence"),
    (_webhook, "either"),
    (_confluence_v2, "confluence"),
    (_lifecycle, "either"),
    (_raw_unicode, "either"),
]


# --- corpora by shape ------------------------------------------------------------------------
#
# The mixed corpus above has a few repeated names, escapes and non-ASCII values among much else.
# The corpora below each stress one shape, so that a fast path that serves one shape well and
# another badly shows up in its own row. Each is generated from decoded parameters, encoded the
# way one real client encodes them; all avoid what 3.0.0 or Node canonicalise differently from
# Atlassian's Java reference (see the module docstring and ``run.py``): parameter names are
# unreserved ASCII (Node sorts names decoded, Java encoded), paths carry no raw space (Node's
# ``url.parse`` escapes it) and no repeated parameter mixes a character above U+E000 with one
# outside the BMP (3.0.0 sorts by code point, Java by UTF-16 code unit).

#: The shapes, by the name of their rows; see :func:`build_shape`.
SHAPES = ("Jira REST, repeated names", "Jira REST, no repeats", "escaped values", "non-ASCII")


def _encoder(safe: str, space: str = "%20", lower: bool = False) -> Callable[[str], str]:
    """A client's encoding: UTF-8, ``safe`` (besides letters and digits) left as it is."""

    def encode(text: str) -> str:
        encoded = quote(text, safe=safe)
        if "~" not in safe:  # quote() never encodes "~"; some clients do
            encoded = encoded.replace("~", "%7E")
        if space != "%20":
            encoded = encoded.replace("%20", space)
        if lower:
            encoded = re.sub("%[0-9A-F]{2}", lambda escape: escape[0].lower(), encoded)
        return encoded

    return encode


#: How real clients encode a query value. Each leaves letters and digits alone and differs in
#: the rest: which punctuation it keeps, how it writes a space, the case of its hex digits.
ENCODERS: dict[str, Callable[[str], str]] = {
    # Python requests and urllib.parse.urlencode: quote_plus.
    "requests": _encoder("-_.~", "+"),
    # axios (which atlassian-connect-express's clients use): encodeURIComponent, then ":", "$",
    # ",", "[", "]" put back and spaces as "+".
    "axios": _encoder("-_.!~*'():$,[]", "+"),
    # JavaScript's encodeURIComponent, as browsers' fetch callers use it.
    "encodeURIComponent": _encoder("-_.!~*'()"),
    # java.net.URLEncoder: "~" encoded, "*" kept.
    "java": _encoder(".-*_", "+"),
    # .NET HttpUtility.UrlEncode: lower-case hex.
    "dotnet": _encoder("-_.!*()", "+", lower=True),
    # Go url.QueryEscape.
    "go": _encoder("-_.~", "+"),
    # RFC 3986 (PHP rawurlencode): already Atlassian's canonical form.
    "rfc3986": _encoder("-_.~"),
    # A URL written by hand: Python's quote() with its default safe "/", and commas and colons
    # typed as they are.
    "handmade": _encoder("/,:"),
}

Params = list[tuple[str, str]]


def _render(path: str, params: Params, encode: Callable[[str], str]) -> str:
    if not params:
        return path
    return path + "?" + "&".join(f"{name}={encode(value)}" for name, value in params)


def _merge_repeats(params: Params) -> Params:
    """The same parameters with each repeated name once, its values joined by commas."""
    merged: dict[str, list[str]] = {}
    for name, value in params:
        merged.setdefault(name, []).append(value)
    return [(name, ",".join(values)) for name, values in merged.items()]


def repeats_a_name(url: str) -> bool:
    """Whether the query of ``url`` has a parameter name more than once."""
    names = [piece.partition("=")[0] for piece in url.partition("?")[2].split("&") if piece]
    return len(set(names)) < len(names)


def build_shape(shape: str, size: int = 512, seed: int = 15, tenants: int = 8) -> list[Request]:
    """Return ``size`` distinct requests of one of :data:`SHAPES`.

    ``Jira REST, repeated names``: the REST calls an app makes to Jira (issues with ``fields``,
    ``properties`` and ``expand`` repeated, searches, bulk user and project look-ups, agile
    boards, ...), about 60 % of them with a repeated parameter name, each encoded by one of
    :data:`ENCODERS`. ``Jira REST, no repeats``: the same requests, each repeated name's values
    joined by commas into one parameter (``fields=summary,status``), as Jira also accepts them.
    ``escaped values``: ASCII values that need escaping (JQL, CQL, e-mail addresses, URLs, JSON,
    file names) by each client's rules: ``+`` or ``%20``, ``~`` kept or ``%7E``, lower-case hex.
    ``non-ASCII``: text in a dozen scripts, emoji included, percent-encoded as UTF-8 or raw
    (as servers that hand over a decoded IRI pass it), in values, repeated values and paths.

    :raises ValueError: for an unknown shape.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; one of {SHAPES}")
    rng = random.Random(f"{seed}:{shape.partition(',')[0]}")
    requests: list[Request] = []
    seen: set[tuple[str, str]] = set()
    while len(requests) < size:
        if shape.startswith("Jira REST"):
            method, path, params = _jira_rest(rng)
            if shape == "Jira REST, no repeats":
                params = _merge_repeats(params)
            url = _render(path, params, ENCODERS[rng.choice(sorted(ENCODERS))])
            kind, confluence, in_query = "jira-rest", False, False
        elif shape == "escaped values":
            kind, method, path, params, confluence = _escaped(rng)
            url = _render(path, params, ENCODERS[rng.choice(sorted(ENCODERS))])
            in_query = kind == "iframe"
        else:
            kind, method, url, confluence = _non_ascii(rng)
            in_query = kind == "iframe"
        if (method, url) in seen:
            continue
        seen.add((method, url))
        tenant = rng.randrange(int(confluence), tenants, 2)
        requests.append(Request(kind, method, url, tenant, in_query))
    return requests


# Fields an app asks Jira for; custom fields by id.
_FIELDS = [
    "summary",
    "status",
    "assignee",
    "reporter",
    "priority",
    "labels",
    "issuetype",
    "created",
    "updated",
    "duedate",
    "components",
    "fixVersions",
    "parent",
    "subtasks",
    "comment",
    "attachment",
    "customfield_10014",
    "customfield_10020",
    "customfield_10016",
    "*navigable",
]
_EXPANDS = ["renderedFields", "names", "schema", "transitions", "operations", "changelog"]
_PROPERTIES = ["com.example.app.meta", "sd.public.comment", "*all", "flagged", "app-config"]
_JQL_CLAUSES = [
    'project = {p} AND status = "{s}" ORDER BY updated DESC',
    "assignee = currentUser() AND resolution = Unresolved",
    'project in ({p}, OPS) AND labels = "{l}" AND created >= -30d',
    "sprint in openSprints() AND project = {p} ORDER BY Rank ASC",
    'text ~ "{l}" AND updated >= startOfWeek()',
    "parent = {p}-{n} ORDER BY created ASC",
]
_LABELS = ["backend", "needs-triage", "customer", "Q3", "tech-debt", "release-2.4"]
_GROUPS = ["jira-software-users", "site-admins", "developers", "confluence-users"]


def _some(rng: random.Random, pool: list[str], low: int, high: int) -> list[str]:
    return rng.sample(pool, rng.randint(low, high))


def _jql(rng: random.Random) -> str:
    return rng.choice(_JQL_CLAUSES).format(
        p=rng.choice(_PROJECTS),
        s=rng.choice(_STATUSES),
        l=rng.choice(_LABELS),
        n=rng.randrange(1, 9999),
    )


def _issue_key(rng: random.Random) -> str:
    return f"{rng.choice(_PROJECTS)}-{rng.randrange(1, 99999)}"


def _jira_rest(rng: random.Random) -> tuple[str, str, Params]:
    """One REST call to Jira: method, path and decoded parameters (60 % repeat a name)."""
    if rng.random() < 0.6:
        return rng.choice(_JIRA_REPEATING)(rng)
    return rng.choice(_JIRA_SINGLE)(rng)


def _fields(rng: random.Random, low: int = 2, high: int = 6) -> Params:
    return [("fields", field) for field in _some(rng, _FIELDS, low, high)]


_JIRA_REPEATING: list[Callable[[random.Random], tuple[str, str, Params]]] = [
    lambda rng: (
        "GET",
        f"/rest/api/3/issue/{_issue_key(rng)}",
        _fields(rng)
        + [("properties", p) for p in _some(rng, _PROPERTIES, 1, 3)]
        + [("expand", e) for e in _some(rng, _EXPANDS, 0, 2)],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/search/jql",
        [("jql", _jql(rng))]
        + _fields(rng)
        + [("expand", e) for e in _some(rng, _EXPANDS, 1, 2)]
        + [("maxResults", str(rng.choice([50, 100])))],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/user/bulk",
        [("accountId", _account_id(rng)) for _ in range(rng.randint(2, 6))]
        + [("maxResults", str(rng.choice([10, 50])))],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/project/search",
        [("status", s) for s in _some(rng, ["live", "archived", "deleted"], 2, 3)]
        + [("keys", k) for k in _some(rng, _PROJECTS, 1, 4)]
        + [("expand", "description,lead"), ("startAt", str(rng.randrange(0, 500, 50)))],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/field/search",
        [("type", "custom")]
        + [("id", f"customfield_{rng.randrange(10000, 10999)}") for _ in range(rng.randint(2, 5))]
        + [("expand", "key,lastUsed")],
    ),
    lambda rng: (
        "GET",
        f"/rest/agile/1.0/board/{rng.randrange(1, 5000)}/issue",
        _fields(rng)
        + [("jql", _jql(rng)), ("startAt", str(rng.randrange(0, 1000, 50))), ("maxResults", "50")],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/workflow/search",
        [
            ("workflowName", f"{rng.choice(_PROJECTS)} workflow {rng.randrange(1, 50)}")
            for _ in range(rng.randint(2, 3))
        ]
        + [("expand", "statuses,transitions")],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/priority/search",
        [("id", str(rng.randrange(1, 20))) for _ in range(rng.randint(2, 4))]
        + [("projectId", str(rng.randrange(10000, 10999))) for _ in range(rng.randint(1, 2))],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/group/bulk",
        [("groupName", g) for g in _some(rng, _GROUPS, 2, 4)]
        + [("startAt", str(rng.randrange(0, 200)))],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/statuses",
        [("id", str(rng.randrange(10000, 10999))) for _ in range(rng.randint(2, 6))]
        + [("expand", "usages")],
    ),
    lambda rng: (
        "GET",
        f"/rest/api/3/app/field/customfield_{rng.randrange(10000, 10999)}/context/configuration",
        [("contextId", str(rng.randrange(10000, 19999))) for _ in range(rng.randint(2, 4))]
        + [("issueId", str(rng.randrange(10000, 999999)))],
    ),
    lambda rng: (
        "GET",
        f"/rest/agile/1.0/sprint/{rng.randrange(1, 9999)}/issue",
        _fields(rng) + [("expand", "changelog")],
    ),
]

_JIRA_SINGLE: list[Callable[[random.Random], tuple[str, str, Params]]] = [
    lambda rng: (
        "GET",
        f"/rest/api/3/issue/{_issue_key(rng)}/comment",
        [
            ("startAt", str(rng.randrange(0, 200))),
            ("maxResults", "50"),
            ("orderBy", "-created"),
            ("expand", "renderedBody"),
        ],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/user/search",
        [("query", rng.choice(_NAMES)), ("maxResults", str(rng.choice([10, 20, 50])))],
    ),
    lambda rng: (
        "PUT",
        f"/rest/api/3/issue/{_issue_key(rng)}",
        [("notifyUsers", "false"), ("overrideScreenSecurity", "false")],
    ),
    lambda rng: ("POST", "/rest/api/3/issue", [("updateHistory", rng.choice(["true", "false"]))]),
    lambda rng: (
        "GET",
        "/rest/api/3/mypermissions",
        [
            ("permissions", "BROWSE_PROJECTS,EDIT_ISSUES"),
            ("projectKey", rng.choice(_PROJECTS)),
            ("issueId", str(rng.randrange(10000, 999999))),
        ],
    ),
    lambda rng: (
        "GET",
        f"/rest/api/3/issue/{_issue_key(rng)}/transitions",
        [("expand", "transitions.fields"), ("skipRemoteOnlyCondition", "false")],
    ),
    lambda rng: (
        "GET",
        f"/rest/api/3/issue/{_issue_key(rng)}/worklog",
        [
            ("startAt", "0"),
            ("maxResults", "1000"),
            ("startedAfter", str(1_700_000_000_000 + rng.randrange(10**10))),
        ],
    ),
    lambda rng: ("POST", f"/rest/api/3/issue/{_issue_key(rng)}/comment", []),
    lambda rng: (
        "DELETE",
        f"/rest/api/3/issue/{_issue_key(rng)}",
        [("deleteSubtasks", "true")],
    ),
    lambda rng: (
        "GET",
        "/rest/api/3/issue/picker",
        [("query", rng.choice(_LABELS)), ("currentJQL", _jql(rng))],
    ),
]

# ASCII values that every client escapes somewhere, and each in its own way.
_ESCAPED_VALUES: list[Callable[[random.Random], str]] = [
    _jql,
    lambda rng: f'type = page AND space = "{rng.choice(_SPACES)}" AND title ~ "plan*"',
    lambda rng: f"first.last+{rng.choice(_LABELS)}@example.com",
    lambda rng: f"https://app.example.com/return?to=/issue/{_issue_key(rng)}&tab=1#top",
    lambda rng: json.dumps({"contentStatuses": ["current"], "spaceKey": rng.choice(_SPACES)}),
    lambda rng: f"Q{rng.randint(1, 4)} report (final) v{rng.randrange(9)}.pdf",
    lambda rng: f"/shared/docs/{rng.randrange(2020, 2026)} plan.txt",
    lambda rng: f"~{rng.choice(['jsmith', 'amy.o', 'dev-bot'])}",
    lambda rng: f"O'Brien & Sons; {rng.randrange(100)}% done!",
    lambda rng: f"C++ & C# <{rng.randrange(1000)}> $[x]=y",
    lambda rng: f"{_account_id(rng)}",
]


def _escaped(rng: random.Random) -> tuple[str, str, str, Params, bool]:
    """A request whose values need escaping: kind, method, path, decoded parameters."""

    def value() -> str:
        return rng.choice(_ESCAPED_VALUES)(rng)

    choice = rng.randrange(6)
    if choice == 0:
        return (
            "jira-rest",
            "GET",
            "/rest/api/3/search/jql",
            [("jql", value()), ("maxResults", str(rng.randrange(1, 100)))],
            False,
        )
    if choice == 1:
        return (
            "confluence-rest",
            "GET",
            "/wiki/rest/api/search",
            [("cql", value()), ("cqlcontext", value()), ("start", str(rng.randrange(500)))],
            True,
        )
    if choice == 2:
        path = f"/jira/issue-panel/{rng.randrange(10**6)}"
        return (
            "iframe",
            "GET",
            path,
            [
                ("xdm_e", JIRA),
                ("cp", ""),
                ("tz", rng.choice(_TIMEZONES)),
                ("returnUrl", value()),
                ("lic", "active"),
            ],
            False,
        )
    if choice == 3:
        path = f"/webhooks/jira/{rng.randrange(10**6)}"
        return (
            "webhook",
            "POST",
            path,
            [("user_id", _account_id(rng)), ("note", value()), ("tag", value()), ("tag", value())],
            False,
        )
    if choice == 4:
        return (
            "app",
            "GET",
            f"/app/files/{rng.randrange(10**6)}",
            [("name", value()), ("owner", value()), ("download", "true")],
            False,
        )
    return (
        "confluence-rest",
        "GET",
        "/wiki/rest/api/content",
        [
            ("spaceKey", rng.choice(_SPACES)),
            ("title", value()),
            ("expand", "body.storage,version"),
            ("start", str(rng.randrange(500))),
        ],
        True,
    )


# Text in many scripts; no character at or above U+E000 (see the note on these corpora).
_SCRIPTS = [
    "Jürgen Müller",
    "François Lefèvre",
    "Łukasz Żółw",
    "Ελληνικά σελίδα",
    "Русский текст",
    "日本語のページ",
    "中文标题",
    "한국어 문서",
    "العربية",
    "עברית",
    "हिन्दी पृष्ठ",
    "ภาษาไทย",
    "Tiếng Việt",
    "İstanbul ofisi",
    "🚀 launch 🎉",
    "bug 🐛 triage",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 maths",
    "naïve café",
    "Ærø Ødegård",
    "Ñandú",
    "Straße",
    "Ωmega ≤ 5 ∑",
]


def _non_ascii(rng: random.Random) -> tuple[str, str, str, bool]:
    """A request with non-ASCII text: kind, method, URL (encoded or raw), Confluence or not."""

    def text() -> str:
        return f"{rng.choice(_SCRIPTS)} {rng.randrange(1000)}"

    raw = rng.random() < 0.2  # a server that passes the decoded IRI on
    encode = (lambda value: value) if raw else ENCODERS[rng.choice(["requests", "rfc3986"])]
    choice = rng.randrange(5)
    if choice == 0:
        confluence, kind, method = True, "confluence-rest", "GET"
        title = text()
        path = f"/wiki/spaces/{rng.choice(_SPACES)}/pages/{rng.randrange(10**5, 10**9)}/"
        path += quote(title.replace(" ", "+"), safe="+")
        params = [("focusedCommentId", str(rng.randrange(10**6)))]
    elif choice == 1:
        confluence, kind, method, path = True, "confluence-rest", "GET", "/wiki/rest/api/search"
        params = [("cql", f'text ~ "{text()}"'), ("limit", "25")]
    elif choice == 2:
        confluence, kind, method = False, "jira-rest", "GET"
        path = f"/rest/api/3/issue/{_issue_key(rng)}"
        params = [("fields", "labels"), ("label", text()), ("label", text()), ("label", text())]
    elif choice == 3:
        confluence, kind, method, path = False, "jira-rest", "GET", "/rest/api/3/user/search"
        params = [("query", text()), ("maxResults", "20")]
    else:
        confluence = rng.random() < 0.5
        kind, method = "iframe", "GET"
        path = "/confluence/macro" if confluence else "/jira/issue-panel"
        params = [
            ("tz", rng.choice(_TIMEZONES)),
            ("loc", rng.choice(_LOCALES)),
            ("page.title" if confluence else "issue.summary", text()),
            ("user.name", text()),
            ("lic", "active"),
        ]
    return kind, method, _render(path, params, encode), confluence

"""The canonical request and its hash, the ``qsh`` claim, exactly as Atlassian computes them.

Atlassian Connect binds a token to one request: its ``qsh`` claim is the hash of the request's
*canonical request*. The rules are those of Atlassian's Java reference
(``com.atlassian.jwt.core.HttpRequestCanonicalizer``), which Jira and Confluence run; where
the 3.0.0 Python package differed from it, this module follows Java. Canonicalisation lives
only here; everything else in the library calls the functions below.

``qsh`` is the lower-case hex SHA-256 of the UTF-8 bytes of ``METHOD&URI&QUERY``:

1. **METHOD**: the request method, upper-cased.
2. **URI**: the path as it appears in the URL, neither decoded nor encoded again; no scheme,
   host, port, query or fragment. A ``:`` in its first segment is part of the path, and
   ``//a`` is a path, not a host. Then:

   1. the base path is removed as a plain string prefix: the path of the product's
      ``baseUrl`` for calls to the product (Confluence's ``/wiki``), of the app's own base URL
      for calls to the app;
   2. **one** trailing ``/`` is removed;
   3. if nothing but whitespace is left, the URI is ``/``;
   4. every ``&`` becomes ``%26``;
   5. a ``/`` is put in front if it does not start with one (more leading slashes stay).

3. **QUERY**: the query string is split on ``&`` (never ``;``), empty pieces are skipped, each
   piece is split at its first ``=`` (``a`` and ``a=`` both give ``a`` an empty value), and
   names and values are form-decoded (``+`` is a space, ``%XX`` are UTF-8 bytes, invalid ones
   U+FFFD). The fields of an ``application/x-www-form-urlencoded`` body join them when the
   signer hashed them, as the Java servlet side merges them. Then:

   1. the parameter named exactly ``jwt`` (case-sensitive) is dropped, all its values;
   2. each name's values are sorted by their decoded strings, in UTF-16 code-unit order
      (Java's ``String.compareTo``);
   3. names and values are percent-encoded: of their UTF-8 bytes, the unreserved characters
      ``A-Z a-z 0-9 - . _ ~`` stay as they are, every other byte is ``%XX`` with upper-case
      hex (a space is ``%20``, ``+`` is ``%2B``);
   4. a parameter's entry is ``name=value1,value2,...``, its values joined with a raw ``,``;
   5. the entries are sorted by encoded name (byte order) and joined with ``&``.

   Without parameters QUERY is empty, and the canonical request ends with ``&``.

The public functions come first; the steps follow in the order above, each rule a numbered
comment above its code. A query in its usual shape skips parsing by the one-pass path in
``atlassian_jwt._fast_query``, which gives the same result.

>>> canonicalize_request("GET", "/path/to/service?zee_last=param&repeated=parameter 1"
...                      "&first=param&repeated=parameter 2")
'GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param'
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Union
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from ._fast_query import is_canonical, one_pass_canonical_query

__all__ = [
    "FORM_CONTENT_TYPE",
    "BodyParams",
    "Params",
    "base_path",
    "canonical_request",
    "canonical_request_from_query",
    "canonicalize_request",
    "check_service_url",
    "content_type_parameter",
    "decode_component",
    "hash_url",
    "is_form",
    "media_type",
    "merge_body_params",
    "origin",
    "parse_params",
    "parse_query_params",
    "parse_raw_params",
    "qsh_of",
    "split_url",
]

#: The media type of the request bodies whose fields count as parameters (QUERY step 4).
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"

#: Form parameters from a request body: the raw ``application/x-www-form-urlencoded`` text (or
#: bytes), or a mapping of decoded names to a value or a list of values.
BodyParams = Union[str, bytes, Mapping[str, Union[str, Sequence[str]]]]

#: Query parameters: each name with its values, in the order they appear.
Params = dict[str, list[str]]

_sha256 = hashlib.sha256


# The canonical request and qsh.


def hash_url(
    http_method: str,
    url: str,
    base_url: str | None = None,
    *,
    body_params: BodyParams | None = None,
) -> str:
    """Return the ``qsh`` of a request: the hex SHA-256 of its canonical request.

    Takes the same arguments as :func:`canonicalize_request`.

    :returns: 64 lower-case hex digits.
    :raises ValueError: if ``url``, ``base_url`` or ``body_params`` is not valid text.

    >>> hash_url('GET', '/rest/api/3/project/recent')
    '4953376a4a620a337fab595409def4f695270777a9536fded98a4790b1ad3832'
    """
    if body_params is not None:
        return qsh_of(canonicalize_request(http_method, url, base_url, body_params=body_params))
    path, query = split_url(url)
    canonical = canonical_request_from_query(
        http_method, path, query, base_path(base_url) if base_url else ""
    )
    # qsh_of, inline: this is the hot path of every outbound token.
    return _sha256(canonical.encode("utf-8")).hexdigest()


def canonicalize_request(
    http_method: str,
    url: str,
    base_url: str | None = None,
    *,
    body_params: BodyParams | None = None,
) -> str:
    """Build the canonical request ``METHOD&URI&QUERY`` whose hash is the ``qsh`` claim.

    :param http_method: the request's method, in any case.
    :param url: the request URL as sent: absolute (``https://x.atlassian.net/rest/api/3/issue``)
        or relative (``/rest/api/3/issue?x=1``). The path is hashed exactly as it appears, not
        decoded or re-encoded.
    :param base_url: a base URL (``https://x.atlassian.net/wiki``) or just its path (``/wiki``),
        removed from the front of the request path: the tenant's ``baseUrl`` for calls to the
        product, the app's own base URL for calls to the app.
    :param body_params: form parameters from an ``application/x-www-form-urlencoded`` body,
        merged with the query parameters as the Java servlet side does. Only pass them when the
        signer included them.
    :returns: the canonical request.
    :raises ValueError: if ``url``, ``base_url`` or ``body_params`` is not valid text (a lone
        surrogate, say).
    :raises TypeError: if ``url`` is not a ``str``.

    >>> canonicalize_request('GET', 'https://example.atlassian.net/wiki/rest/api/space/',
    ...                      'https://example.atlassian.net/wiki')
    'GET&/rest/api/space&'
    >>> canonicalize_request('POST', '/submit?b=2', body_params='a=1&c=x+y')
    'POST&/submit&a=1&b=2&c=x%20y'
    """
    path, query = split_url(url)
    if body_params is None:
        return canonical_request_from_query(
            http_method, path, query, base_path(base_url) if base_url else ""
        )
    params = parse_params(query)
    merge_body_params(params, body_params)
    return canonical_request(http_method, path, params, base_path(base_url))


def qsh_of(canonical: str) -> str:
    """Return the ``qsh`` of a canonical request: the hex SHA-256 of its UTF-8 bytes.

    :param canonical: a canonical request, as :func:`canonicalize_request` returns it.
    :returns: 64 lower-case hex digits.

    >>> qsh_of('GET&/rest/api/3/project/recent&')
    '4953376a4a620a337fab595409def4f695270777a9536fded98a4790b1ad3832'
    """
    return _sha256(canonical.encode("utf-8")).hexdigest()


def canonical_request(http_method: str, path: str, params: Params, base: str = "") -> str:
    """Build the canonical request from a raw path and decoded parameters.

    For a caller that has parsed the request already (to merge a form body, say).

    :param http_method: the request's method, in any case.
    :param path: the path as it appears in the URL, as :func:`split_url` returns it.
    :param params: the decoded parameters, as :func:`parse_params` returns them.
    :param base: the base path to remove, as :func:`base_path` returns it.
    :returns: the canonical request.

    >>> canonical_request('get', '/wiki/rest/api/space/', {'limit': ['10']}, '/wiki')
    'GET&/rest/api/space&limit=10'
    """
    # 1. METHOD, upper-cased; 2. URI; 3. QUERY; joined with "&".
    method = http_method.upper()
    return f"{method}&{_canonical_uri(path, base)}&{_canonical_query(params, _encode_values)}"


def canonical_request_from_query(
    http_method: str,
    path: str,
    query: str,
    base: str = "",
    params: Params | None = None,
    *,
    query_text: str | None = None,
) -> str:
    """Like :func:`canonical_request`, from the raw query string as it appears in the URL.

    The fastest way to the canonical request. A query in the usual shape is canonicalised
    whole by the one-pass path (``atlassian_jwt._fast_query``); any other from its raw values,
    of which those already in canonical form are used as they are and the others decoded and
    encoded again. The result is that of :func:`canonical_request` for the parsed query.

    :param http_method: the request's method, in any case.
    :param path: the path as it appears in the URL, as :func:`split_url` returns it.
    :param query: the raw query string, as :func:`split_url` returns it.
    :param base: the base path to remove, as :func:`base_path` returns it.
    :param params: ``parse_raw_params(query)``, if the caller has it already.
    :param query_text: the QUERY part, if the caller has it already (from
        ``atlassian_jwt._fast_query.one_pass_canonical_query``).
    :returns: the canonical request.

    >>> canonical_request_from_query('GET', '/p', 'b=x+y&a=1&jwt=x.y.z')
    'GET&/p&a=1&b=x%20y'
    """
    text = query_text
    if text is None:
        text = one_pass_canonical_query(query) if query else ""
    if text is None:
        if params is None:
            params = parse_raw_params(query)
        text = _canonical_query(params, _encode_raw_values)
    # 1. METHOD, upper-cased; 2. URI; 3. QUERY; joined with "&".
    return f"{http_method.upper()}&{_canonical_uri(path, base)}&{text}"


# The parts of a request URL.

# An absolute URL: a scheme followed by "://" and an authority. Only this form counts as
# absolute; "/a:b/c" and "//a" are paths, as they are for the Java reference.
_SCHEME_AND_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")


def split_url(url: str) -> tuple[str, str]:
    """Return the path and the raw query string of ``url``, as they appear in it.

    Only ``scheme://authority`` at the start is taken for the scheme and host, so ``/a:b/c``
    and ``//a`` are paths; the fragment is dropped.

    :param url: an absolute URL or a relative one (path and query).
    :returns: ``(path, query)``, without the ``?``.
    :raises TypeError: if ``url`` is not a ``str``.
    :raises ValueError: if ``url`` is not valid text (a lone surrogate).

    >>> split_url('https://example.atlassian.net/wiki/a:b?x=1&y=2#top')
    ('/wiki/a:b', 'x=1&y=2')
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    if not url.isascii():
        _check_text(url, "url")
    if "#" in url:
        url = url.partition("#")[0]
    # A relative URL, the usual one, has no scheme to look for.
    if url[:1] != "/":
        authority = _SCHEME_AND_AUTHORITY.match(url)
        if authority:
            url = url[authority.end() :]
    path, _, query = url.partition("?")
    return path, query


def base_path(base_url: str | None) -> str:
    """Return the path part of a base URL without trailing slashes (``""`` for none).

    :param base_url: a base URL (``https://x.atlassian.net/wiki``), its path alone, or ``None``.
    :returns: the path to remove from request paths (URI step 2.1), starting with ``/``, or
        ``""``.
    :raises ValueError: if ``base_url`` is not valid text.

    >>> base_path('https://example.atlassian.net/wiki/')
    '/wiki'
    >>> base_path('/wiki')
    '/wiki'
    >>> base_path('https://example.atlassian.net')
    ''
    """
    if not base_url:
        return ""
    path = split_url(base_url)[0].rstrip("/")
    if path and not path.startswith("/"):
        path = "/" + path
    return path


def parse_params(query: str) -> Params:
    """Parse a query string (or form body) into decoded names and their values.

    The string is split on ``&`` only (never ``;``), empty pieces are skipped, each piece is
    split at its first ``=`` (``a`` and ``a=`` both give ``a`` an empty value), and names and
    values are form-decoded by :func:`decode_component`. A piece with an empty name is dropped,
    as Tomcat drops it.

    :param query: the raw query string (without ``?``) or form body.
    :returns: each decoded name with its decoded values, in order.

    >>> parse_params('a=1&b=x+y&a=%32&c&;d=4&=5')
    {'a': ['1', '2'], 'b': ['x y'], 'c': [''], ';d': ['4']}
    """
    return {
        name: [decode_component(value) for value in raw]
        for name, raw in parse_raw_params(query).items()
    }


def parse_raw_params(query: str) -> Params:
    """Like :func:`parse_params`, but leave the values as they appear in ``query``.

    Names are decoded, so that ``a+b`` and ``a%20b`` are one parameter; values are not, for
    :func:`canonical_request_from_query`, which uses those already canonical as they are.

    >>> parse_raw_params('a+b=x+y&a%20b=%7E')
    {'a b': ['x+y', '%7E']}
    """
    params: Params = {}
    if not query:
        return params
    for piece in query.split("&"):
        name, _, value = piece.partition("=")
        if not name:
            continue
        name = decode_component(name)
        values = params.get(name)
        if values is None:
            params[name] = [value]
        else:
            values.append(value)
    return params


def is_form(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` is :data:`FORM_CONTENT_TYPE`, whatever its parameters.

    >>> is_form("Application/x-www-form-urlencoded; charset=UTF-8"), is_form("application/json")
    (True, False)
    """
    return media_type(content_type) == FORM_CONTENT_TYPE


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` header, lower case, without its parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def content_type_parameter(content_type: str | None, name: str) -> str | None:
    """The value of the parameter ``name`` of a ``Content-Type`` header, if it has one.

    :param name: the parameter's name in lower case; the header's is matched in any case.
    :returns: the value, lower-cased and unquoted (as for ``charset``); of several, the last.

    >>> content_type_parameter('application/x-www-form-urlencoded; Charset="UTF-8"', 'charset')
    'utf-8'
    >>> content_type_parameter('application/x-www-form-urlencoded', 'charset') is None
    True
    """
    found = None
    for parameter in (content_type or "").split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == name:
            found = value.strip().strip('"').lower()
    return found


def merge_body_params(params: Params, body_params: BodyParams) -> None:
    """Add the fields of a form body to ``params``, as the servlet side merges them.

    :param params: decoded parameters, as :func:`parse_params` returns them; changed in place.
    :param body_params: the raw body (``bytes`` are read as UTF-8, invalid bytes U+FFFD), or a
        mapping of decoded names to a value or a list of values.
    :raises ValueError: if ``body_params`` is not valid text (a lone surrogate).
    :raises TypeError: if ``body_params`` is of another type, or a mapping with names or values
        that are not text (a number, say).

    >>> params = parse_params('a=1')
    >>> merge_body_params(params, b'a=2&b=x+y')
    >>> params
    {'a': ['1', '2'], 'b': ['x y']}
    """
    if isinstance(body_params, bytes):
        body_params = body_params.decode("utf-8", "replace")
    if isinstance(body_params, str):
        _check_text(body_params, "body_params")
        extra: Iterable[tuple[str, list[str]]] = parse_params(body_params).items()
    elif isinstance(body_params, Mapping):
        extra = []
        for name, value in body_params.items():
            values = [value] if isinstance(value, str) else value
            if not (
                isinstance(name, str)
                and isinstance(values, Sequence)
                and all(isinstance(text, str) for text in values)
            ):
                raise TypeError("body_params must map each str name to a str or a list of str")
            for text in (name, *values):
                _check_text(text, "body_params")
            extra.append((name, list(values)))
    else:
        raise TypeError(
            f"body_params must be str, bytes or a mapping, not {type(body_params).__name__}"
        )
    for name, values in extra:
        params.setdefault(name, []).extend(values)


def decode_component(text: str) -> str:
    """Form-decode one name or value of a query: ``+`` is a space, ``%XX`` are UTF-8 bytes.

    Invalid UTF-8 becomes U+FFFD; a malformed escape such as ``%zz`` stays as it is.

    >>> decode_component("Australia%2FSydney+%E5%AE%AE")
    'Australia/Sydney 宮'
    """
    # Most names and many values need no decoding; the test here saves a call.
    if "%" in text or "+" in text:
        return _form_decode(text)
    return text


def parse_query_params(url: str, keep_blank_values: bool = False) -> dict[str, list[str]]:
    """Return the query parameters of ``url``: each decoded name with its decoded values.

    As in 3.0.0, parameters with an empty value are left out unless ``keep_blank_values``.

    :param url: an absolute or relative URL.
    :param keep_blank_values: keep empty values (and the names that have only those).
    :returns: each decoded name with its decoded values, in order.
    :raises ValueError: if ``url`` is not valid text.

    >>> parse_query_params('/page?a=1&b=x+y&a=2&c=')
    {'a': ['1', '2'], 'b': ['x y']}
    """
    params = parse_params(split_url(url)[1])
    if keep_blank_values:
        return params
    kept = {name: [value for value in values if value] for name, values in params.items()}
    return {name: values for name, values in kept.items() if values}


# The addresses the library itself calls.

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int] | None:
    """Return the scheme, host and port of an absolute ``http(s)`` URL, or ``None``.

    Two URLs with the same origin may share credentials; the outbound auth classes send a
    tenant's tokens only to its ``baseUrl``'s origin.

    :returns: ``(scheme, host, port)``, scheme and host lower-cased and the port filled in; or
        ``None`` for a relative URL, another scheme or a port that is not a number.

    >>> origin("https://Example.atlassian.net/wiki")
    ('https', 'example.atlassian.net', 443)
    >>> origin("https://example.atlassian.net.evil.test/") == origin("https://example.atlassian.net")
    False
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def check_service_url(url: str, what: str) -> str:
    """Return ``url`` if the library may call it: ``https://``, or ``http://`` to loopback.

    For the addresses of Atlassian's services (key servers, JWKS, the authorization server),
    which come from configuration only. Plain HTTP is allowed to a loopback address alone, for
    servers that tests start on 127.0.0.1.

    :param url: the configured address.
    :param what: what the URL is for, named in the error.
    :returns: ``url``, unchanged.
    :raises ValueError: for another scheme, no host, credentials, a query or a fragment, or
        plain HTTP beyond loopback.

    >>> check_service_url("http://127.0.0.1:8080/keys", "key_server_url")
    'http://127.0.0.1:8080/keys'
    >>> check_service_url("http://keys.example.com", "key_server_url")
    Traceback (most recent call last):
    ...
    ValueError: key_server_url must use https (plain http only to a loopback address)
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except (TypeError, ValueError, AttributeError):
        raise ValueError(f"{what} must be an absolute https:// URL") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{what} must be an absolute https:// URL")
    if parts.username is not None or parts.query or parts.fragment:
        raise ValueError(f"{what} may not carry credentials, a query or a fragment")
    if scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(f"{what} must use https (plain http only to a loopback address)")
    return url


# The steps of the canonical request, in order. Step 1, METHOD, is the upper-casing in
# canonical_request and canonical_request_from_query.

# Java's Character.isWhitespace, which StringUtils.isBlank uses to decide that a path is empty.
# It differs from str.isspace: the no-break spaces (U+00A0, U+2007, U+202F) are not whitespace.
_JAVA_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2008\u2009\u200a\u2028\u2029\u205f\u3000"
)


def _canonical_uri(path: str, base: str) -> str:
    """Step 2, URI: the canonical form of a raw path.

    :param path: the path as it appears in the URL.
    :param base: the base path, as :func:`base_path` returns it.
    """
    # 2.1 The base path is removed as a plain string prefix (not only at a "/").
    if base and path.startswith(base):
        path = path[len(base) :]
    # 2.2 One trailing slash is removed; "/a//" keeps one.
    if path[-1:] == "/":
        path = path[:-1]
    # 2.3 A path of nothing but whitespace is "/".
    if not path.strip(_JAVA_WHITESPACE):
        return "/"
    # 2.4 "&" is encoded, since it separates the three parts of the canonical request.
    if "&" in path:
        path = path.replace("&", "%26")
    # 2.5 The URI starts with "/"; further leading slashes stay.
    if path[0] != "/":
        path = "/" + path
    return path


def _canonical_query(params: Params, encode_values: Callable[[list[str]], str]) -> str:
    """Step 3, QUERY: the canonical query from parsed parameters.

    :param params: the parameters, names decoded; their values decoded or raw, as
        ``encode_values`` expects them.
    :param encode_values: steps 3.2 to 3.4 for one parameter's values:
        :func:`_encode_values` for decoded values, :func:`_encode_raw_values` for raw ones.
    """
    # 3.1 The parameter named "jwt" is dropped. 3.3 Each name is percent-encoded, and 3.2 to
    # 3.4 its values sorted, encoded and joined.
    entries = [
        (_percent_encode(name), encode_values(values))
        for name, values in params.items()
        if name != "jwt"
    ]
    # 3.5 The entries are sorted by encoded name and joined with "&".
    entries.sort()
    return "&".join([f"{name}={values}" for name, values in entries])


def _encode_values(values: list[str]) -> str:
    """Steps 3.2 to 3.4 for one parameter's decoded values: sorted, encoded, joined."""
    # 3.2 The values are sorted by their decoded strings in UTF-16 code-unit order (Java's
    #     String.compareTo). That differs from code-point order only for characters beyond
    #     the BMP, so ASCII values sort without the key.
    if len(values) == 1:
        return _percent_encode(values[0])
    if all(value.isascii() for value in values):
        values = sorted(values)
    else:
        values = sorted(values, key=_utf16_units)
    # 3.3 Each value is percent-encoded; 3.4 the values are joined with ",".
    return ",".join([_percent_encode(value) for value in values])


def _encode_raw_values(raw: list[str]) -> str:
    """Like :func:`_encode_values`, for one parameter's values as they appear in the query.

    A single raw value already in canonical form is its own encoding: it is used as it is.
    """
    if len(raw) == 1 and is_canonical(raw[0]):
        return raw[0]
    return _encode_values([decode_component(value) for value in raw])


def _utf16_units(text: str) -> bytes:
    """The sort key of step 3.2: ``text`` as UTF-16 code units."""
    # Big-endian UTF-16 bytes compare in the same order as the code units they encode.
    return text.encode("utf-16-be", "surrogatepass")


# 3.3 Percent-encoding: the UTF-8 bytes of the text, each as itself if it is an RFC 3986
# unreserved character (A-Z a-z 0-9 - . _ ~), else as "%XX" in upper-case hex. The table maps
# each byte (as the character of the same number) to that, for str.translate.
_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]")
_PERCENT_ENCODED = tuple(
    chr(byte) if _UNRESERVED.fullmatch(chr(byte)) else f"%{byte:02X}" for byte in range(256)
)


def _percent_encode(text: str) -> str:
    """Step 3.3: percent-encode one decoded name or value."""
    if not text.isascii():
        # One character per UTF-8 byte, so that the table escapes each byte.
        text = text.encode("utf-8").decode("latin-1")
    return text.translate(_PERCENT_ENCODED)


def _form_decode(text: str) -> str:
    """The decoding of QUERY's parsing: ``+`` is a space, ``%XX`` are UTF-8 bytes."""
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    if text.isascii():
        # What unquote does with ASCII text, without its splitting into ASCII runs.
        return unquote_to_bytes(text).decode("utf-8", "replace")
    return unquote(text, errors="replace")


# Helpers.


def _check_text(text: str, what: str) -> None:
    """Refuse text that has no UTF-8 form: it cannot be part of a URL, nor be hashed."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{what} is not valid text: it contains a lone surrogate, which no URL can carry"
            ) from None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

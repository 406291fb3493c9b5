"""The canonical request and its hash, the ``qsh`` claim, exactly as Atlassian computes them.

Atlassian Connect binds a token to one request: the token's ``qsh`` claim is the SHA-256 hash of
the *canonical request* ``METHOD&URI&QUERY``. The rules below are those of Atlassian's Java
reference (``com.atlassian.jwt``), which is what Jira and Confluence run; where the 3.0.0 Python
package differed from it, this module follows Java.

Everything else in the library calls :func:`canonicalize_request` (or the parsed form of it);
canonicalisation lives only here.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Union
from urllib.parse import unquote, unquote_to_bytes, urlsplit

__all__ = [
    "BodyParams",
    "base_path",
    "canonicalize_request",
    "check_service_url",
    "hash_url",
    "origin",
    "parse_query_params",
]

#: Form parameters from a request body: the raw ``application/x-www-form-urlencoded`` text (or
#: bytes), or a mapping of decoded names to a value or a list of values.
BodyParams = Union[str, bytes, Mapping[str, Union[str, Sequence[str]]]]

Params = dict[str, list[str]]

# An absolute URL: a scheme followed by "://" and an authority. Only this form counts as
# absolute; "/a:b/c" and "//a" are paths, as they are for the Java reference.
_SCHEME_AND_AUTHORITY = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")

# RFC 3986 unreserved characters: the only ones left as they are when encoding. The table
# maps each byte (as the character of the same number) to itself or its escape, for
# str.translate.
_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]*")
_PERCENT_ENCODED = tuple(
    chr(byte) if _UNRESERVED.fullmatch(chr(byte)) else f"%{byte:02X}" for byte in range(256)
)

# Escapes that form-decoding and encoding again give back unchanged: upper-case escapes of the
# ASCII bytes that are not unreserved (%00-%2C, %2F, %3A-%40, %5B-%5E, %60, %7B-%7D, %7F), and
# upper-case escapes of whole, valid UTF-8 sequences (RFC 3629 §4: no overlong forms, no
# surrogates, nothing above U+10FFFF). Not these, which change in the round trip: lower-case
# hex, an escape of an unreserved character such as %7E, invalid or cut-off UTF-8 (which
# decodes to U+FFFD).
_CONTINUATION = "%[89AB][0-9A-F]"
_ESCAPE = (
    "%(?:[01][0-9A-F]|2[0-9A-CF]|3[A-F]|40|5[B-E]|60|7[B-DF])"
    f"|%(?:C[2-9A-F]|D[0-9A-F]){_CONTINUATION}"
    f"|%E0%[AB][0-9A-F]{_CONTINUATION}"
    f"|%E[1-9A-CEF](?:{_CONTINUATION}){{2}}"
    f"|%ED%[89][0-9A-F]{_CONTINUATION}"
    f"|%F0%(?:9[0-9A-F]|[AB][0-9A-F])(?:{_CONTINUATION}){{2}}"
    f"|%F[1-3](?:{_CONTINUATION}){{3}}"
    f"|%F4%8[0-9A-F](?:{_CONTINUATION}){{2}}"
)
# A raw value that is already canonical: unreserved characters and such escapes. It is its
# own encoding, so it can skip decoding and encoding.
_CANONICAL = re.compile(rf"[A-Za-z0-9\-._~]*(?:(?:{_ESCAPE})[A-Za-z0-9\-._~]*)*")
_is_canonical = _CANONICAL.fullmatch
# Raw ASCII text whose decoding changes nothing but "+" (a space) and such escapes: no other
# "%". Its encoding is then str.translate of it, with those escapes kept and "+" made "%20".
# Nor "&" or "=", which delimit the pieces of a query.
_PLAIN = r"[\x00-\x24\x27-\x3C\x3E-\x7F]*"
_TEXT = rf"{_PLAIN}(?:(?:{_ESCAPE}){_PLAIN})*"
# A whole raw query of pieces "name=value" made of such text, each name non-empty.
_QUERY_AS_IS = re.compile(rf"(?!=){_TEXT}={_TEXT}(?:&(?!=){_TEXT}={_TEXT})*")
# Encodes such a query in one pass: the escapes' "%" and the "&" delimiters stay, the "="
# delimiters become NUL (see _canonical_query_as_is), "+" is a space, every other character
# is encoded.
_AS_IS_TABLE = {
    **{byte: escape for byte, escape in enumerate(_PERCENT_ENCODED[:128])},
    ord("%"): "%",
    ord("&"): "&",
    ord("="): "\0",
    ord("+"): "%20",
}

# Java's Character.isWhitespace, which StringUtils.isBlank uses to decide that a path is empty.
# It differs from str.isspace: the no-break spaces (U+00A0, U+2007, U+202F) are not whitespace.
_JAVA_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2008\u2009\u200a\u2028\u2029\u205f\u3000"
)


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
    :raises ValueError: if ``url`` or ``base_url`` is not valid text (a lone surrogate, say).

    >>> canonicalize_request('get', '/path/to/service?zee_last=param&repeated=parameter 1'
    ...                      '&first=param&repeated=parameter 2')
    'GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param'
    >>> canonicalize_request('GET', 'https://example.atlassian.net/wiki/rest/api/space/',
    ...                      'https://example.atlassian.net/wiki')
    'GET&/rest/api/space&'
    """
    path, query = split_url(url)
    if body_params is None:
        return canonical_request_from_query(http_method, path, query, base_path(base_url))
    params = parse_params(query)
    merge_body_params(params, body_params)
    return canonical_request(http_method, path, params, base_path(base_url))


def hash_url(
    http_method: str,
    url: str,
    base_url: str | None = None,
    *,
    body_params: BodyParams | None = None,
) -> str:
    """Return the ``qsh`` for a request: the hex SHA-256 of its canonical request.

    Takes the same arguments as :func:`canonicalize_request`.

    >>> hash_url('GET', '/rest/api/3/project/recent')
    '4953376a4a620a337fab595409def4f695270777a9536fded98a4790b1ad3832'
    """
    return qsh_of(canonicalize_request(http_method, url, base_url, body_params=body_params))


def parse_query_params(url: str, keep_blank_values: bool = False) -> dict[str, list[str]]:
    """Return the query parameters of ``url``: each decoded name with its decoded values.

    As in 3.0.0, parameters with an empty value are left out unless ``keep_blank_values``.

    >>> parse_query_params('/page?a=1&b=x+y&a=2&c=')
    {'a': ['1', '2'], 'b': ['x y']}
    """
    params = parse_params(split_url(url)[1])
    if keep_blank_values:
        return params
    kept = {name: [value for value in values if value] for name, values in params.items()}
    return {name: values for name, values in kept.items() if values}


def base_path(base_url: str | None) -> str:
    """Return the path part of a base URL without trailing slashes (``""`` for none).

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


def split_url(url: str) -> tuple[str, str]:
    """Return the path and the raw query string of ``url``, as they appear in it.

    :raises ValueError: if ``url`` is not valid text.
    """
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    _check_text(url, "url")
    url = url.partition("#")[0]
    authority = _SCHEME_AND_AUTHORITY.match(url)
    if authority:
        url = url[authority.end() :]
    path, _, query = url.partition("?")
    return path, query


def parse_params(query: str) -> Params:
    """Parse a query string (or form body) into decoded names and their values.

    The string is split on ``&`` only (never ``;``), empty pieces are skipped, each piece is
    split at its first ``=`` (``a`` and ``a=`` both give ``a`` an empty value), and names and
    values are form-decoded: ``+`` is a space and ``%XX`` are UTF-8 bytes, invalid ones becoming
    U+FFFD. A malformed escape such as ``%zz`` stays as it is. A piece with an empty name is
    dropped, as Tomcat drops it.
    """
    return {
        name: [decode_component(value) for value in raw]
        for name, raw in parse_raw_params(query).items()
    }


def parse_raw_params(query: str) -> Params:
    """Like :func:`parse_params`, but leave the values as they appear in ``query``."""
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


def merge_body_params(params: Params, body_params: BodyParams) -> None:
    """Add form parameters from a request body to ``params``, as the servlet side merges them."""
    if isinstance(body_params, bytes):
        body_params = body_params.decode("utf-8", "replace")
    if isinstance(body_params, str):
        _check_text(body_params, "body_params")
        extra: Iterable[tuple[str, list[str]]] = parse_params(body_params).items()
    else:
        extra = [
            (name, [value] if isinstance(value, str) else list(value))
            for name, value in body_params.items()
        ]
        for name, values in extra:
            for text in (name, *values):
                _check_text(text, "body_params")
    for name, values in extra:
        params.setdefault(name, []).extend(values)


def canonical_request(http_method: str, path: str, params: Params, base: str = "") -> str:
    """Assemble the canonical request from a raw path and decoded parameters (SPEC §2).

    :param base: a base path as returned by :func:`base_path`.
    """
    # 1. METHOD: upper-cased; 2. URI; 3. QUERY.
    method = http_method.upper()
    return f"{method}&{_canonical_uri(path, base)}&{_canonical_query(params, _encode_values)}"


def canonical_request_from_query(
    http_method: str, path: str, query: str, base: str = "", params: Params | None = None
) -> str:
    """Like :func:`canonical_request`, from the raw query string as it appears in the URL.

    A query of ASCII pieces that decoding leaves alone (see :func:`_canonical_query_as_is`) is
    encoded and sorted whole, without being split into names and values. Otherwise its raw
    values are used: one that :func:`_is_canonical` accepts is its own encoding, so it is
    neither decoded nor encoded again; every other value goes the way of
    :func:`canonical_request`.

    :param params: ``parse_raw_params(query)``, if the caller has it already.
    """
    text = _canonical_query_as_is(query)
    if text is None:
        if params is None:
            params = parse_raw_params(query)
        text = _canonical_query(params, _encode_raw_values)
    # 1. METHOD: upper-cased; 2. URI; 3. QUERY.
    return f"{http_method.upper()}&{_canonical_uri(path, base)}&{text}"


def _canonical_query_as_is(query: str) -> str | None:
    """Return the canonical query of a raw query that :data:`_QUERY_AS_IS` accepts, else None.

    Every piece of such a query is ``name=value`` in ASCII whose decoding changes nothing but
    escapes that encoding gives back, so the whole query is encoded by one ``str.translate``,
    and each encoded piece is its parameter's canonical entry, unless its name repeats (those
    values are merged the general way). The entries then only need sorting by name, which is
    sorting them with "=" replaced by a character below every character of an encoded name
    (NUL): a name's end then sorts lowest, as it does when names alone are compared ("a"
    before "a-b", although "a-b=" sorts before "a=").
    """
    if not _QUERY_AS_IS.fullmatch(query):
        return None
    entries = query.translate(_AS_IS_TABLE).split("&")
    if "jwt=" in query:
        entries = [entry for entry in entries if not entry.startswith("jwt\0")]
    if len({entry.partition("\0")[0] for entry in entries}) != len(entries):
        entries = _merge_repeated(entries)
    entries.sort()
    return "&".join(entries).replace("\0", "=")


def _merge_repeated(entries: list[str]) -> list[str]:
    """Merge the encoded ``name NUL value`` entries of repeated names into one entry each."""
    values_by_name: dict[str, list[str]] = {}
    for entry in entries:
        name, _, value = entry.partition("\0")
        values_by_name.setdefault(name, []).append(value)
    return [
        f"{name}\0{values[0]}"
        if len(values) == 1
        # An encoded value decodes to the raw value's decoding, so the general rule applies.
        else f"{name}\0{_encode_values([decode_component(value) for value in values])}"
        for name, values in values_by_name.items()
    ]


def _canonical_uri(path: str, base: str) -> str:
    """Step 2 of the canonical request (SPEC §2), the URI: the raw path,"""
    #    2.1 without the base path, removed as a plain string prefix;
    if base and path.startswith(base):
        path = path[len(base) :]
    #    2.2 without one trailing slash;
    if path.endswith("/"):
        path = path[:-1]
    #    2.3 "/" when nothing but whitespace is left;
    if not path.strip(_JAVA_WHITESPACE):
        path = "/"
    #    2.4 with "&" encoded, since "&" separates the three parts;
    path = path.replace("&", "%26")
    #    2.5 starting with "/".
    if not path.startswith("/"):
        path = "/" + path
    return path


def _canonical_query(params: Params, encode_values: Callable[[list[str]], str]) -> str:
    """Step 3 of the canonical request (SPEC §2), the query, from parsed parameters.

    Every parameter but "jwt", its name percent-encoded (3.3) and its values sorted, encoded
    and joined by ``encode_values`` (3.2 to 3.4);
    """
    entries = [
        (_encode(name), encode_values(values)) for name, values in params.items() if name != "jwt"
    ]
    #   3.5 the entries sorted by encoded name and joined with "&".
    entries.sort()
    return "&".join([f"{name}={values}" for name, values in entries])


def _encode_values(values: list[str]) -> str:
    """Encode one parameter's decoded values for the canonical query (SPEC §2, 3.2 to 3.4)."""
    #   3.2 the values sorted by their decoded strings in UTF-16 code-unit order (Java's
    #       String.compareTo); that differs from code-point order only for characters
    #       outside the BMP, so ASCII values skip the key;
    if len(values) == 1:
        return _encode(values[0])
    if all(value.isascii() for value in values):
        values = sorted(values)
    else:
        values = sorted(values, key=_utf16_units)
    #   3.3 each value percent-encoded, 3.4 the values joined with ",".
    return ",".join([_encode(value) for value in values])


def _encode_raw_values(raw: list[str]) -> str:
    """Like :func:`_encode_values`, for one parameter's raw values as they appear in the query."""
    if len(raw) == 1 and _is_canonical(raw[0]):
        return raw[0]
    return _encode_values([decode_component(value) for value in raw])


def qsh_of(canonical: str) -> str:
    """Return the lowercase hex SHA-256 of a canonical request's UTF-8 bytes."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def decode_component(text: str) -> str:
    """Form-decode one name or value of a query: ``+`` is a space, ``%XX`` are UTF-8 bytes.

    >>> decode_component("Australia%2FSydney+%E5%AE%AE")
    'Australia/Sydney 宮'
    """
    # Most names and many values need no decoding; the test here saves a call.
    if "%" in text or "+" in text:
        return _form_decode(text)
    return text


def _form_decode(text: str) -> str:
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    if text.isascii():
        # What unquote does with ASCII text, without its splitting into ASCII runs.
        return unquote_to_bytes(text).decode("utf-8", "replace")
    return unquote(text, errors="replace")


def _encode(text: str) -> str:
    if not text.isascii():
        # One character per UTF-8 byte, so that the table escapes each byte.
        text = text.encode("utf-8").decode("latin-1")
    return text.translate(_PERCENT_ENCODED)


def _utf16_units(text: str) -> bytes:
    # Big-endian UTF-16 bytes compare in the same order as the code units they encode.
    return text.encode("utf-16-be", "surrogatepass")


def _check_text(text: str, what: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(
                f"{what} is not valid text: it contains a lone surrogate, which no URL can carry"
            ) from None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int] | None:
    """Return the scheme, host and port of an absolute ``http(s)`` URL, or ``None``.

    Two URLs with the same origin may share credentials; the outbound auth classes send a
    tenant's tokens only to its ``baseUrl``'s origin.

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

    :param what: what the URL is for, named in the error.
    :raises ValueError: for another scheme, no host, credentials, a query or a fragment, or
        plain HTTP beyond loopback.
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


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""Why a token's ``qsh`` does not match a request: the usual mistakes, tried and named.

A ``qsh`` mismatch says only that two canonical requests differ. The signer made one of a few
mistakes more often than not: a base path (``/wiki``, an app prefix) not removed or removed
twice, spaces as ``+``, repeated parameters not merged, names sorted by their decoded text, a
valueless parameter hashed as ``name=null``, the path decoded or encoded, a trailing slash
kept, the ``jwt`` parameter hashed, another method, a form body hashed with the query or left
out of it. :func:`diagnose_qsh` applies each (and each pair of different kinds) to the request,
builds the canonical request with :mod:`atlassian_jwt.url_utils` and names those whose hash is
the token's.

>>> from atlassian_jwt.url_utils import hash_url
>>> signed = hash_url("GET", "/wiki/rest/api/space?limit=10")  # /wiki not removed
>>> [d.codes for d in diagnose_qsh("GET", "/wiki/rest/api/space?limit=10", signed, "/wiki")]
[('base_path_not_removed',)]
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from .url_utils import (
    base_path,
    canonical_request,
    merge_body_params,
    parse_params,
    qsh_of,
    split_url,
)

__all__ = ["Diagnosis", "diagnose_qsh"]


class _Request(NamedTuple):
    """A request as the signer may have seen it, before canonicalisation."""

    method: str
    path: str
    query: str
    body: str | None
    base: str
    #: Whether the form body's parameters are hashed with the query's.
    body_hashed: bool


_Params = dict[str, list[str]]


class _Mistake(NamedTuple):
    """One way a signer (or the verifier) gets the canonical request wrong.

    ``request`` transforms the raw request, ``params`` the parsed parameters and ``text`` the
    canonical request that :func:`~atlassian_jwt.url_utils.canonical_request` built from them.
    """

    family: str
    code: str
    description: str
    request: Callable[[_Request], _Request] | None = None
    params: Callable[[_Params], _Params] | None = None
    text: Callable[[str], str] | None = None


class Diagnosis(NamedTuple):
    """Mistakes whose canonical request hashes to the token's ``qsh``."""

    #: Stable identifiers of the mistakes, e.g. ``("base_path_not_removed",)``.
    codes: tuple[str, ...]
    #: What was done wrong, in words.
    description: str
    #: The canonical request the signer hashed.
    canonical_request: str


_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
# An HTTP client's path encoding (RFC 3986 pchar and "/"), and a stricter one.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_PATH_SAFE_STRICT = "/%-._~"
# Stands in for "jwt" so that canonical_request keeps the parameter; "%00" sorts right after
# the name "jwt" itself, before any other encoded name, so the entry order is unchanged.
_JWT_STAND_IN = "jwt\x00"


def _with(**changes: Any) -> Callable[[_Request], _Request]:
    return lambda request: request._replace(**changes)


def _encoded_path(safe: str) -> Callable[[_Request], _Request]:
    return lambda request: request._replace(path=quote(request.path, safe=safe))


def _split_canonical(text: str) -> tuple[str, str, str]:
    method, path, query = text.split("&", 2)
    return method, path, query


def _with_query(text: str, query: str) -> str:
    method, path, _ = _split_canonical(text)
    return f"{method}&{path}&{query}"


def _sorted_by_decoded_name(text: str) -> str:
    # JavaScript's sort(), as a signer that sorts its query object's keys does: by the decoded
    # names' UTF-16 code units, where Atlassian sorts the encoded names.
    entries = _split_canonical(text)[2].split("&")
    entries.sort(key=lambda entry: _utf16(unquote(entry.partition("=")[0])))
    return _with_query(text, "&".join(entries))


def _utf16(text: str) -> bytes:
    # Big-endian UTF-16 bytes compare in the order of the code units they encode.
    return text.encode("utf-16-be", "surrogatepass")


def _valueless(query: str, spelling: str) -> str:
    # Each piece without "=" (a valueless parameter, "?a") as the signer spelt it.
    return "&".join(
        piece + spelling if piece and "=" not in piece else piece for piece in query.split("&")
    )


def _unmerge(text: str) -> str:
    # Encoded values never hold a raw ",", so the joined values split back exactly.
    entries: list[str] = []
    for entry in _split_canonical(text)[2].split("&"):
        name, _, values = entry.partition("=")
        entries.extend(f"{name}={value}" for value in values.split(","))
    return _with_query(text, "&".join(entries))


def _mistakes(request: _Request, params: _Params) -> Iterator[_Mistake]:
    """Yield the mistakes that can apply to this request."""
    ours = request.base
    # The base path: not removed, removed twice, or another prefix removed.
    path = request.path
    prefixes = [""] + [path[:i] for i in range(1, len(path)) if path[i] == "/"]
    if path.rstrip("/"):
        prefixes.append(path.rstrip("/"))
    for prefix in prefixes:
        if prefix == ours:
            continue
        if not prefix:
            code, what = "base_path_not_removed", f"the base path {ours} was not removed"
        elif prefix == ours * 2:
            code, what = "base_path_removed_twice", f"the base path {ours} was removed twice"
        else:
            code = "other_base_path"
            what = f"the path was hashed relative to {prefix}, not to {ours or 'the root'}"
            what += f" (verify with a base URL ending in {prefix})"
        yield _Mistake("base", code, what, _with(base=prefix))
    if ours and not path.startswith(ours):
        yield _Mistake(
            "base",
            "base_path_not_removed",
            f"the full path {ours}{path} was hashed: the base path {ours} was not removed",
            lambda r: r._replace(path=ours + r.path, base=""),
        )

    # "+" and "%20".
    if "%20" in canonical_request(request.method, "/", params):
        yield _Mistake(
            "plus",
            "space_as_plus",
            "spaces were encoded as + (form encoding, quote_plus), not %20",
            text=lambda t: _with_query(t, _split_canonical(t)[2].replace("%20", "+")),
        )
    if "+" in request.query:
        yield _Mistake(
            "plus",
            "plus_as_literal",
            "a + in the query was read as a plus sign, not as a space",
            lambda r: r._replace(query=r.query.replace("+", "%2B")),
        )
    if "%2b" in request.query.lower():
        yield _Mistake(
            "plus",
            "encoded_plus_as_space",
            "a %2B in the query was read as a space, not as a plus sign",
            lambda r: r._replace(query=re.sub("%2[bB]", "+", r.query)),
        )

    # Repeated parameters.
    if any(len(values) > 1 for values in params.values()):
        yield _Mistake(
            "repeated",
            "repeated_params_not_merged",
            "a repeated parameter was hashed as separate name=value pairs, not merged into "
            "one name=value1,value2",
            text=_unmerge,
        )
        yield _Mistake(
            "repeated",
            "repeated_params_first_only",
            "only the first value of a repeated parameter was hashed",
            params=lambda p: {name: values[:1] for name, values in p.items()},
        )
        yield _Mistake(
            "repeated",
            "repeated_params_last_only",
            "only the last value of a repeated parameter was hashed (dict(parse_qsl(...)))",
            params=lambda p: {name: values[-1:] for name, values in p.items()},
        )

    # The order of the names.
    encoded_order = _split_canonical(canonical_request(request.method, "/", params))[2]
    if encoded_order != _split_canonical(_sorted_by_decoded_name(f"X&/&{encoded_order}"))[2]:
        yield _Mistake(
            "order",
            "names_sorted_decoded",
            "the parameters were sorted by their decoded names, not by their encoded names "
            "(sorting a query object's keys, as JavaScript signers do)",
            text=_sorted_by_decoded_name,
        )

    # Parameters without a value ("?a").
    if any(piece and "=" not in piece for piece in request.query.split("&")):
        yield _Mistake(
            "valueless",
            "valueless_param_as_null",
            "a parameter without a value was hashed as name=null (a null value turned into "
            "text), not as name=",
            lambda r: r._replace(query=_valueless(r.query, "=null")),
        )
        yield _Mistake(
            "valueless",
            "valueless_param_without_equals",
            "a parameter without a value was hashed as name, not as name=",
            # "=" is form-decoded to itself: a stand-in the text step removes again.
            lambda r: r._replace(query=_valueless(r.query, "=%00")),
            text=lambda t: t.replace("=%00", ""),
        )

    # The path decoded or encoded.
    if "%" in path:
        yield _Mistake(
            "path",
            "path_decoded",
            "the path was hashed decoded, not as it appears in the URL",
            lambda r: r._replace(path=unquote(r.path, errors="replace")),
        )
    for safe in (_PATH_SAFE, _PATH_SAFE_STRICT):
        yield _Mistake(
            "path",
            "path_encoded",
            "the path was hashed percent-encoded, not as it appears in the URL",
            _encoded_path(safe),
        )

    # Slashes.
    if path.endswith("/"):
        yield _Mistake(
            "slash",
            "trailing_slash_kept",
            "the trailing slash was kept (Atlassian removes one)",
            lambda r: r._replace(path=r.path + "/"),
        )
    yield _Mistake(
        "slash",
        "all_slashes_stripped",
        "all leading and trailing slashes were removed, as atlassian-jwt 3.0.0 did",
        lambda r: r._replace(path=r.path.strip("/")),
    )

    # The jwt parameter.
    if "jwt" in params:
        yield _Mistake(
            "jwt",
            "jwt_param_included",
            "the jwt parameter was hashed (it must be left out)",
            params=lambda p: {(_JWT_STAND_IN if n == "jwt" else n): v for n, v in p.items()},
            text=lambda t: t.replace("&jwt%00=", "&jwt=", 1),
        )
    if any(name != "jwt" and name.lower() == "jwt" for name in params):
        yield _Mistake(
            "jwt",
            "jwt_param_case",
            "a parameter named like jwt in another case was left out (only jwt is)",
            params=lambda p: {n: v for n, v in p.items() if n.lower() != "jwt"},
        )

    # The method.
    for method in _METHODS:
        if method != request.method.upper():
            yield _Mistake(
                "method",
                "wrong_method",
                f"the token was signed for {method}, not {request.method.upper()}",
                _with(method=method),
            )
    yield _Mistake(
        "method",
        "method_not_uppercased",
        "the method was not upper-cased",
        text=lambda t: t.split("&", 1)[0].lower() + "&" + t.split("&", 1)[1],
    )

    # What else went into the query.
    if request.query:
        yield _Mistake(
            "query",
            "query_omitted",
            "the query string was left out",
            lambda r: r._replace(query=""),
        )
    if request.body and request.body_hashed:
        yield _Mistake(
            "body",
            "form_body_omitted",
            "the form body's parameters were left out; only the query's were hashed",
            lambda r: r._replace(body_hashed=False),
        )
    elif request.body:
        yield _Mistake(
            "body",
            "form_body_hashed",
            "the form body's parameters were hashed with the query's (verify with the body "
            "hashed too)",
            lambda r: r._replace(body_hashed=True),
        )


def _parameters(request: _Request) -> _Params:
    params = parse_params(request.query)
    if request.body_hashed and request.body:
        merge_body_params(params, request.body)
    return params


def _canonical(request: _Request, mistakes: Sequence[_Mistake]) -> str:
    for mistake in mistakes:
        if mistake.request:
            request = mistake.request(request)
    params = _parameters(request)
    for mistake in mistakes:
        if mistake.params:
            params = mistake.params(params)
    text = canonical_request(request.method, request.path, params, request.base)
    for mistake in mistakes:
        if mistake.text:
            text = mistake.text(text)
    return text


def diagnose_qsh(
    http_method: str,
    url: str,
    token_qsh: str,
    base_url: str | None = None,
    body: str | None = None,
    *,
    body_hashed: bool = False,
) -> list[Diagnosis]:
    """Find the usual mistakes that turn this request's canonical request into ``token_qsh``.

    Each mistake is applied to the request (or to its parameters, or to the canonical request
    built from them) and hashed; single mistakes are tried first, then pairs of mistakes of
    different kinds.

    :param http_method: the request's method.
    :param url: the request URL as received.
    :param token_qsh: the token's ``qsh``.
    :param base_url: the base URL (or path) the verifier removes from the path.
    :param body: the request's form-encoded body, if it has one.
    :param body_hashed: whether the verifier hashes ``body`` with the query (as
        ``authenticate(..., body_params=body)`` does); then the mistake looked for is a signer
        that left it out, else one that hashed it.
    :returns: every diagnosis whose hash is ``token_qsh``; empty if none is.
    :raises ValueError: if the URL (or the body) is not valid text.
    """
    path, query = split_url(url)
    request = _Request(http_method, path, query, body, base_path(base_url), body_hashed)
    params = _parameters(request)
    correct = canonical_request(http_method, path, params, request.base)
    mistakes = list(_mistakes(request, params))
    for size in (1, 2):
        found = []
        seen = {correct}
        for combination in itertools.combinations(mistakes, size):
            if len({mistake.family for mistake in combination}) < size:
                continue
            text = _canonical(request, combination)
            if text in seen:
                continue
            seen.add(text)
            if qsh_of(text) == token_qsh:
                codes = tuple(mistake.code for mistake in combination)
                description = "; and ".join(mistake.description for mistake in combination)
                found.append(Diagnosis(codes, description, text))
        if found:
            return found
    return []

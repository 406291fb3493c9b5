"""The one-pass canonical query: the usual query string canonicalised without being parsed.

Most query strings an app receives (``?lic=active&tz=Europe%2FParis&cp=%2Fjira&xdm_e=...``) are
ASCII pieces ``name=value`` that form-decoding changes only by ``+`` (a space) and by escapes
that percent-encoding gives back as they were. For such a query, QUERY steps 3.1 to 3.5 of
:mod:`atlassian_jwt.url_utils` need no decoding: one ``str.translate`` encodes the whole
string, each piece is then its parameter's entry, and the entries only need sorting.
:func:`one_pass_canonical_query` does that; :mod:`~atlassian_jwt.url_utils` calls it first and
builds the query the general way (parse, decode, encode) when it returns ``None``.

**Invariant.** For every query string ``q``, ``one_pass_canonical_query(q)`` is either
``None`` or exactly the QUERY part of ``url_utils.canonical_request(m, p, parse_params(q))``,
the general canonicaliser's result; and ``is_canonical(v)`` matches exactly the raw values that
decoding and encoding again give back unchanged. The hypothesis property tests
``test_one_pass_query_is_the_general_query_or_none`` and
``test_is_canonical_exactly_when_a_value_survives_decoding_and_encoding`` in
``tests/test_fast_query.py`` hold it; a change here must keep them passing.

:mod:`~atlassian_jwt.url_utils` imports this module, so it imports nothing of the package; the
rule it restates, in recognising form, is step 3.3's: ``A-Z a-z 0-9 - . _ ~`` stay as they are,
every other byte is ``%XX`` with upper-case hex.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["is_canonical", "one_pass_canonical_query"]

# RFC 3986 unreserved characters, as a regular expression character class: the only ones that
# percent-encoding leaves as they are.
_UNRESERVED = r"A-Za-z0-9\-._~"

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

#: Match a raw name or value that is already canonical: unreserved characters and such escapes.
#: It is its own encoding, so the general canonicaliser may use it without decoding and
#: encoding it; a match (truthy) or ``None``.
is_canonical = re.compile(rf"[{_UNRESERVED}]*(?:(?:{_ESCAPE})[{_UNRESERVED}]*)*").fullmatch

# Raw ASCII text whose decoding changes nothing but "+" (a space) and such escapes: no other
# "%". Its encoding is then str.translate of it, with those escapes kept and "+" made "%20".
# Nor "&" or "=", which delimit the pieces of a query.
_PLAIN = r"[\x00-\x24\x27-\x3C\x3E-\x7F]*"
_TEXT = rf"{_PLAIN}(?:(?:{_ESCAPE}){_PLAIN})*"
# A whole raw query of pieces "name=value" made of such text, each name non-empty.
_QUERY_AS_IS = re.compile(rf"(?!=){_TEXT}={_TEXT}(?:&(?!=){_TEXT}={_TEXT})*")
# Encodes such a query in one pass: every ASCII character as step 3.3 encodes it, except the
# escapes' "%" and the "&" delimiters, which stay, "+", which is a space, and the "="
# delimiters, which become NUL (see one_pass_canonical_query).
_AS_IS_TABLE = {
    **{
        byte: chr(byte) if re.fullmatch(f"[{_UNRESERVED}]", chr(byte)) else f"%{byte:02X}"
        for byte in range(128)
    },
    ord("%"): "%",
    ord("&"): "&",
    ord("="): "\0",
    ord("+"): "%20",
}
# An escape of a four-byte UTF-8 sequence, which decodes beyond the BMP, where Python's
# code-point order and Java's UTF-16 order (step 3.2) differ. In a query of the one pass's
# shape, "%F" is nothing else.
_BEYOND_BMP = "%F"


def one_pass_canonical_query(query: str) -> str | None:
    """Return the canonical query (QUERY steps 3.1 to 3.5) of a raw query string, or ``None``.

    The query must be made of pieces ``name=value`` in ASCII whose decoding changes nothing but
    ``+`` and escapes that encoding gives back. The whole query is then encoded by one
    ``str.translate``, and each encoded piece is its parameter's canonical entry, unless its
    name repeats (those values are merged here while they sort alike in code-point and in UTF-16
    order). The entries then only need sorting by name, which is sorting them with "=" replaced
    by a character below every character of an encoded name (NUL): a name's end then sorts
    lowest, as it does when names alone are compared ("a" before "a-b", although "a-b=" sorts
    before "a=").

    :param query: the raw query string, as it appears in the URL, without ``?``.
    :returns: the canonical query, or ``None`` when the query is not of that shape (a piece
        without ``=``, an empty piece or name, a ``%`` that is not such an escape, a character
        beyond ASCII, a repeated name with a value beyond the BMP).

    >>> one_pass_canonical_query("zee_last=param&repeated=parameter+1&first=param"
    ...                          "&repeated=parameter+2&jwt=x.y.z")
    'first=param&repeated=parameter%201,parameter%202&zee_last=param'
    >>> one_pass_canonical_query("a=%zz") is None
    True
    """
    if not _QUERY_AS_IS.fullmatch(query):
        return None
    entries = query.translate(_AS_IS_TABLE).split("&")
    # 3.1 "jwt" is dropped; here the name "jwt" can only come from the raw name "jwt".
    if "jwt=" in query:
        entries = [entry for entry in entries if not entry.startswith("jwt\0")]
    if len({entry.partition("\0")[0] for entry in entries}) != len(entries):
        merged = _merge_repeated(entries)
        if merged is None:
            return None
        entries = merged
    # 3.5 sorted by encoded name, joined with "&" (and the names' "=" put back).
    entries.sort()
    return "&".join(entries).replace("\0", "=")


def _merge_repeated(entries: list[str]) -> list[str] | None:
    """Merge the encoded ``name NUL value`` entries of each repeated name into one entry.

    :returns: the merged entries, or ``None`` if a repeated name has a value beyond the BMP.
    """
    values_by_name: dict[str, list[str]] = {}
    for entry in entries:
        name, _, value = entry.partition("\0")
        values_by_name.setdefault(name, []).append(value)
    merged = []
    for name, values in values_by_name.items():
        if len(values) == 1:
            merged.append(f"{name}\0{values[0]}")
            continue
        # 3.2 sorted by their decoded strings. Each value is the encoding of its decoding,
        # which unquote gives exactly: it holds only unreserved characters and escapes of valid
        # UTF-8. Code-point order is Java's UTF-16 order only within the BMP.
        values.sort(key=unquote)
        # 3.4 the values joined with ",".
        joined = ",".join(values)
        if _BEYOND_BMP in joined:
            return None
        merged.append(f"{name}\0{joined}")
    return merged

"""The one-pass canonical query: a query string canonicalised whole, without being parsed.

QUERY steps 3.1 to 3.5 of :mod:`atlassian_jwt.url_utils` decode every name and value and encode
it again. Most query strings an app receives (``?lic=active&tz=Europe%2FParis&cp=%2Fjira``,
``?fields=summary&fields=status&jql=project+%3D+ABC``) need none of that: they are ASCII pieces
``name=value`` whose escapes encoding gives back as they are, and only a ``+`` (a space) or a
character such as ``,`` or ``/`` differs from the canonical form. For such a query
:func:`one_pass_canonical_query` works on the whole string with a few operations that the
standard library runs in C: a check of its shape, a check that its escapes are canonical, the
few characters that differ replaced where they stand, the entries sorted, the values of a
repeated name merged. :mod:`~atlassian_jwt.url_utils` calls it first and builds the query the
general way (parse, decode, encode) when it returns ``None``.

Two tiers, by how much of the query must be looked at:

1. **The usual shape** (one regular expression): names of unreserved characters, values of
   unreserved characters, ``+`` and canonical escapes. Only ``+`` needs replacing.
2. **Any other ASCII or non-ASCII query** of pieces ``name=value``: raw non-ASCII text is
   first escaped as UTF-8, escapes that encoding writes otherwise (lower-case hex, an escape of
   an unreserved character) are rewritten, then every character that is not unreserved is
   replaced, kind by kind, with its escape.

Both decline (``None``) a query with an empty piece or name, a piece without ``=`` or with
more than one, a ``%`` that does not start two hex digits, or escapes that are not whole, valid
UTF-8 (which decode to U+FFFD): the general way handles them.

**Invariant.** For every query string ``q``, ``one_pass_canonical_query(q)`` is either
``None`` or exactly the QUERY part of ``url_utils.canonical_request(m, p, parse_params(q))``,
the general canonicaliser's result, and the values it adds to ``tokens`` are those of the ``jwt``
parameter as the general parser decodes them; and ``is_canonical(v)`` matches exactly the raw
values that decoding and encoding again give back unchanged. The hypothesis property tests
``test_one_pass_query_is_the_general_query_or_none`` and
``test_is_canonical_exactly_when_a_value_survives_decoding_and_encoding`` in
``tests/test_fast_query.py`` hold it; a change here must keep them passing.

:mod:`~atlassian_jwt.url_utils` imports this module, so it imports nothing of the package; the
rule it restates, in recognising form, is step 3.3's: ``A-Z a-z 0-9 - . _ ~`` stay as they are,
every other byte is ``%XX`` with upper-case hex.
"""

from __future__ import annotations

import re
import sys
from binascii import a2b_qp
from bisect import bisect_right
from urllib.parse import unquote

__all__ = ["is_canonical", "one_pass_canonical_query"]

# RFC 3986 unreserved characters, as a regular expression character class: the only ones that
# percent-encoding leaves as they are.
_UNRESERVED = r"A-Za-z0-9\-._~"
_UNRESERVED_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

# Escapes that form-decoding and encoding again give back unchanged: upper-case escapes of the
# ASCII bytes that are not unreserved (%00-%2C, %2F, %3A-%40, %5B-%5E, %60, %7B-%7D, %7F), and
# upper-case escapes of whole, valid UTF-8 sequences (RFC 3629 §4: no overlong forms, no
# surrogates, nothing above U+10FFFF). Not these, which change in the round trip: lower-case
# hex, an escape of an unreserved character such as %7E, invalid or cut-off UTF-8 (which
# decodes to U+FFFD).
_ASCII_HEX = "(?:[01][0-9A-F]|2[0-9A-CF]|3[A-F]|40|5[B-E]|60|7[B-DF])"
_CONTINUATION = "%[89AB][0-9A-F]"
_ESCAPE = (
    f"%{_ASCII_HEX}"
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

# Step 3.3 for one byte: itself if unreserved, else "%XX".
_ENCODED = [
    chr(byte) if byte in _UNRESERVED_BYTES else f"%{byte:02X}" for byte in range(256)
]
# The encoding of a raw character of a query, which form-decoding reads first: "+" is a space.
_RAW_ENCODED = [*_ENCODED[: ord("+")], "%20", *_ENCODED[ord("+") + 1 :]]
# The two hex digits of every escape that is canonical as it stands.
_CANONICAL_HEX = frozenset(hex_digits[1:] for hex_digits in _ENCODED if len(hex_digits) == 3)
# Every other spelling of two hex digits after "%", and the canonical text of its byte: the
# byte itself if it is unreserved ("%7e" and "%7E" are "~"), else its upper-case escape.
_FIXED_ESCAPE = {
    high + low: _ENCODED[byte]
    for byte in range(256)
    for high in {f"{byte:02X}"[0], f"{byte:02x}"[0]}
    for low in {f"{byte:02X}"[1], f"{byte:02x}"[1]}
    if high + low not in _CANONICAL_HEX
}
# What follows each "%" that does not start a canonical escape (up to two characters): the
# escapes that _fixed_escapes rewrites, and anything that is not an escape at all.
# (The hex digits of _CANONICAL_HEX: those of the ASCII escapes, and every upper-case byte
# from 80 on.) One regular expression call, where splitting at each "%" costs twice as much.
_NOT_CANONICAL_ESCAPES = re.compile(
    rf"%(?!{_ASCII_HEX}|[89A-F][0-9A-F])(.?.?)", re.DOTALL
).findall

# Tier 1's shape: "name=value" pieces joined by "&", names of unreserved characters, values of
# unreserved characters, "+" and canonical escapes. Possessive where Python has it (3.11), which
# saves the regular expression engine its backtracking bookkeeping.
_POSSESSIVE = "+" if sys.version_info >= (3, 11) else ""
_USUAL_VALUE = (
    rf"[{_UNRESERVED}+]*{_POSSESSIVE}(?:(?:{_ESCAPE})[{_UNRESERVED}+]*{_POSSESSIVE})*{_POSSESSIVE}"
)
_USUAL_PIECE = rf"[{_UNRESERVED}]+{_POSSESSIVE}={_USUAL_VALUE}"
_USUAL = re.compile(rf"{_USUAL_PIECE}(?:&{_USUAL_PIECE})*{_POSSESSIVE}").fullmatch

# For checking escapes by decoding them with binascii.a2b_qp, whose escape character is "=":
# "%" becomes "=" and the "=" delimiters "&"; lower-case hex digits become "g", which no escape
# accepts and which stays unreserved, so that a lower-case escape fails to decode; line breaks,
# which a2b_qp takes for soft line breaks after "=", become "!".
_ESCAPES_CHECKED = bytes.maketrans(b"abcdef\n\r=%", b"gggggg!!&=")
# For decoding escapes alone: "%" becomes "=", the "=" delimiters "&".
_ESCAPES_DECODED = bytes.maketrans(b"=%", b"&=")
# Raw non-ASCII text, which the general way encodes as UTF-8.
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def one_pass_canonical_query(query: str, tokens: list[str] | None = None) -> str | None:
    """Return the canonical query (QUERY steps 3.1 to 3.5) of a raw query string, or ``None``.

    The query must be made of pieces ``name=value`` whose escapes are whole UTF-8 sequences;
    see the module's docstring for the two tiers. The query is brought to its encoded form
    where it stands, the entries are sorted by name (which is sorting them with "=" replaced by
    a character below every character of an encoded name, NUL: a name's end then sorts lowest,
    as it does when names alone are compared, "a" before "a-b" although "a-b=" sorts before
    "a="), and the values of each repeated name are merged.

    :param query: the raw query string, as it appears in the URL, without ``?``.
    :param tokens: if given, and the canonical query is returned, the decoded values of the
        ``jwt`` parameter, which step 3.1 drops, are added to it (in no particular order): what
        a request's token is read from.
    :returns: the canonical query, or ``None`` when the query is not of that shape (a piece
        without ``=`` or with two, an empty piece or name, a ``%`` that is not an escape,
        escapes of invalid UTF-8, a lone surrogate).

    >>> one_pass_canonical_query("zee_last=param&repeated=parameter+1&first=param"
    ...                          "&repeated=parameter+2&jwt=x.y.z")
    'first=param&repeated=parameter%201,parameter%202&zee_last=param'
    >>> one_pass_canonical_query("tz=Europe%2fParis&fields=a,b")
    'fields=a%2Cb&tz=Europe%2FParis'
    >>> one_pass_canonical_query("a=%zz") is None
    True
    """
    found: list[str] = []
    if tokens is not None and "jwt=" in query:
        # The token's piece, a few hundred characters that step 3.1 drops, cut out where it
        # stands rather than scanned with the rest. (Any other piece whose name decodes to
        # jwt is found by its name below.)
        query = _cut_token_pieces(query, found)
        if not query:
            tokens += found
            return ""
    if _USUAL(query):
        # Tier 1: canonical but for "+", a space in a raw query.
        if "+" in query:
            query = query.replace("+", "%20")
    else:
        encoded = _other_encoded(query)
        if encoded is None:
            return None
        query = encoded
    # 3.5 (in part) entries "name NUL value", sorted by encoded name.
    entries = query.replace("=", "\0").split("&")
    entries.sort()
    # Each entry has one NUL: joined by NUL and split again, names and values alternate.
    cells = "\0".join(entries).split("\0")
    names = cells[::2]
    distinct = set(names)
    # 3.1 "jwt" is dropped.
    if "jwt" in distinct:
        start = names.index("jwt")
        stop = bisect_right(names, "jwt", start)
        # An encoded value decodes unambiguously: its escapes are valid UTF-8.
        found += [
            unquote(value) if "%" in value else value
            for value in cells[2 * start + 1 : 2 * stop : 2]
        ]
        del entries[start:stop], cells[2 * start : 2 * stop], names[start:stop]
        distinct.discard("jwt")
    if len(distinct) != len(names):
        _merge_repeated(entries, names, cells[1::2])
    if tokens is not None:
        tokens += found
    # 3.5 joined with "&" (and the names' "=" put back).
    return "&".join(entries).replace("\0", "=")


def _cut_token_pieces(query: str, found: list[str]) -> str:
    """Cut the pieces ``jwt=...`` out of a raw query; add their decoded values to ``found``.

    :returns: the rest of the query.
    """
    while True:
        if query.startswith("jwt="):
            start = 0
        else:
            start = query.find("&jwt=") + 1
            if not start:
                return query
        end = query.find("&", start)
        value = query[start + 4 : end] if end >= 0 else query[start + 4 :]
        if "%" in value or "+" in value:
            # Form-decoded as url_utils.decode_component decodes it ("+" a space, invalid
            # UTF-8 U+FFFD), which tests/test_fast_query.py holds it to.
            value = unquote(value.replace("+", " "), errors="replace")
        found.append(value)
        if start:
            query = query[: start - 1] + (query[end:] if end >= 0 else "")
        else:
            query = query[end + 1 :] if end >= 0 else ""


def _other_encoded(query: str) -> str | None:
    """Tier 2: any query of pieces ``name=value``, with every piece in encoded form."""
    if not query.isascii():
        try:
            query = _NON_ASCII.sub(_escaped_utf8, query)
        except UnicodeEncodeError:  # a lone surrogate
            return None
    data = query.encode("ascii")
    special = data.translate(None, _UNRESERVED_BYTES)
    others = special.translate(None, b"%&=")
    delimiters = (
        special.translate(None, others + b"%") if others else special.replace(b"%", b"")
    )
    # Pieces "name=value" with a name: "=&=&...=", and no "=" right after "&" or at the start.
    if (
        delimiters != b"=&" * (len(delimiters) >> 1) + b"="
        or "&=" in query
        or query[:1] == "="
    ):
        return None
    if 37 in special and not _canonical_escapes(data, special):  # 37: "%"
        fixed = _fixed_escapes(query)
        if fixed is None:
            return None
        query = fixed
    for byte in set(others):
        query = query.replace(chr(byte), _RAW_ENCODED[byte])
    return query


def _escaped_utf8(match: re.Match[str]) -> str:
    """Step 3.3 for a run of raw non-ASCII text: its UTF-8 bytes, each as ``%XX``."""
    return "%" + match[0].encode("utf-8").hex("%").upper()


def _canonical_escapes(data: bytes, special: bytes) -> bool:
    """Whether every ``%`` of an ASCII query starts a canonical escape (see ``_ESCAPE``).

    :param data: the query as ASCII bytes.
    :param special: ``data`` without its unreserved characters.
    """
    decoded = a2b_qp(data.translate(_ESCAPES_CHECKED))
    return (
        # Each "%" and two upper-case hex digits became one byte ...
        len(decoded) == len(data) - 2 * special.count(b"%")
        # ... which is not unreserved (the other characters keep their kind) ...
        and len(decoded.translate(None, _UNRESERVED_BYTES)) == len(special)
        # ... and together they are valid UTF-8.
        and (decoded.isascii() or _is_utf8(decoded))
    )


def _fixed_escapes(query: str) -> str | None:
    """Write every escape of an ASCII query canonically, or ``None`` if one is not an escape.

    Lower-case hex digits become upper-case, and an escape of an unreserved character becomes
    the character; escapes that are not whole UTF-8 sequences are declined.
    """
    for hex_digits in set(_NOT_CANONICAL_ESCAPES(query)):
        fixed = _FIXED_ESCAPE.get(hex_digits)
        if fixed is None:  # not two hex digits
            return None
        query = query.replace("%" + hex_digits, fixed)
    if not _is_utf8(a2b_qp(query.encode("ascii").translate(_ESCAPES_DECODED))):
        return None
    return query


def _merge_repeated(entries: list[str], names: list[str], values: list[str]) -> None:
    """Merge the entries of each repeated name into one, in place (steps 3.2 and 3.4).

    Sorted, a name's entries are adjacent: each run of them is found by bisection, so that a
    query of thousands of parameters costs what its size says.

    :param entries: the encoded entries ``name NUL value``, sorted.
    :param names: their names, in the same order.
    :param values: their values, in the same order.
    """
    merged = []
    start = 0
    count = len(names)
    while start < count:
        name = names[start]
        stop = bisect_right(names, name, start)
        if stop - start == 1:
            merged.append(entries[start])
        else:
            group = values[start:stop]
            joined = "".join(group)
            if "%" in joined:
                # 3.2 sorted by their decoded strings: by their UTF-8 bytes, which is
                # code-point order; Java's UTF-16 order differs only between characters beyond
                # the BMP (escapes %F0-%F4) and U+E000-U+FFFF (%EE, %EF), which is rare.
                beyond_bmp = "%F" in joined and ("%EE" in joined or "%EF" in joined)
                group.sort(key=_utf16_units if beyond_bmp else _utf8_bytes)
            # (Without escapes a value is its decoded string, and they are in order already.)
            # 3.4 the values joined with ",".
            merged.append(f"{name}\0{','.join(group)}")
        start = stop
    entries[:] = merged


def _utf8_bytes(value: str) -> bytes:
    """The decoded bytes of an encoded value, whose escapes are all valid."""
    return a2b_qp(value.replace("%", "=").encode("ascii"))


def _utf16_units(value: str) -> bytes:
    """The decoded string of an encoded value as UTF-16 code units (big-endian bytes)."""
    return _utf8_bytes(value).decode("utf-8").encode("utf-16-be")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

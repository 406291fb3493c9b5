"""The one-pass canonical query gives exactly what the general canonicaliser gives, or None.

These properties hold the invariant that ``atlassian_jwt/_fast_query.py`` states: the general
canonicaliser (parse, decode, encode; ``url_utils.canonical_request``) is the reference, and
the fast path may only decline, never differ.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from atlassian_jwt import _fast_query
from atlassian_jwt._fast_query import is_canonical, one_pass_canonical_query
from atlassian_jwt.url_utils import (
    canonical_request,
    canonical_request_from_query,
    canonicalize_request,
    parse_params,
    parse_raw_params,
)


def _general_query(query: str) -> str:
    """The QUERY part of the canonical request, the general way."""
    return canonical_request("GET", "/p", parse_params(query)).split("&", 2)[2]


# Names that are prefixes of one another ("a", "a-", "a.b", "a1", "a~", "a,"), repeated names,
# "jwt", raw characters that encoding escapes, escapes that do or do not survive a round trip,
# and values on either side of U+E000-U+FFFF against beyond the BMP (where Java's UTF-16 order
# and code-point order differ) are where the one pass could go wrong. All of them are of the
# shape the one pass promises to take (see _USUAL_FRAGMENTS below).
_FRAGMENTS = [
    "a",
    "-",
    ".b",
    "1",
    "~",
    "A",
    "_",
    ",",
    "/",
    "*",
    " ",
    ":",
    "!",
    "%00",
    "%20",
    "%2C",
    "%7F",
    "%C3%A9",
    "%E2%82%AC",
    "%EF%BF%BD",
    "+",
    "jwt",
    "%7E",
    "%2c",
    "%F0%9F%90%9B",
    "%c3%a9",
    "%6A",
    "\u00e9",
    "\ue000",
    "\U0001f41b",
    "\x00",
    "\n",
]
# Fragments that take a query out of the one pass's shape: escapes that decode to U+FFFD, a "%"
# that starts no escape, the delimiters themselves, line breaks after "%" (which binascii's
# decoder would read as soft line breaks), a lone surrogate.
_OTHER_FRAGMENTS = [
    "%ED%A0%80",
    "%C0%AF",
    "%FF",
    "%E2%82",
    "%",
    "%zz",
    "%e",
    "%%",
    "%\n",
    "%\r\n",
    "=",
    "&",
    "\ud800",
]

_piece_text = st.lists(st.sampled_from(_FRAGMENTS + _OTHER_FRAGMENTS), max_size=3).map("".join)
_piece = st.tuples(_piece_text, _piece_text).map("=".join) | _piece_text


# The token's piece, as products write it and as nobody does.
_token_piece = st.sampled_from(
    ["jwt=a.b.c", "jwt=", "jwt", "j%77t=x", "jw%74=x", "%6Awt=x", "jwt=a+b%2E%FF", "jwt=x=y"]
)


@given(pieces=st.lists(_piece | _token_piece, max_size=8))
@example(pieces=["v=%EF%BF%BD", "v=%F0%9F%98%80"])
@example(pieces=["v=\ue000", "v=%F0%9F%98%80", "w=1"])
@example(pieces=["a=%25%37%41", "a=%7e"])
@example(pieces=["jwt=x.y%2Ez", "a=1", "j%77t=b"])
def test_one_pass_query_is_the_general_query_or_none(pieces: list[str]) -> None:
    query = "&".join(pieces)
    tokens: list[str] = []
    fast = one_pass_canonical_query(query, tokens)
    if fast is None:
        assert tokens == []
    else:
        assert fast == _general_query(query)
        # The values of the jwt parameter it drops, as the general parser decodes them.
        assert sorted(tokens) == sorted(parse_params(query).get("jwt", []))


# The shape the one pass promises to take: pieces "name=value" of those fragments, names not
# empty. For every such query it must answer, and answer right.
_usual_text = st.lists(st.sampled_from(_FRAGMENTS), max_size=3).map("".join)
_usual_name = st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=3).map("".join)
_usual_piece = st.tuples(_usual_name, _usual_text).map("=".join)


@given(pieces=st.lists(_usual_piece, min_size=1, max_size=8))
def test_one_pass_applies_to_every_query_of_the_usual_shape(pieces: list[str]) -> None:
    query = "&".join(pieces)
    assert one_pass_canonical_query(query) == _general_query(query)


@given(pieces=st.lists(_piece, max_size=8), method=st.sampled_from(["GET", "delete"]))
def test_a_query_is_canonicalised_whole_exactly_as_piece_by_piece(
    pieces: list[str], method: str
) -> None:
    query = "&".join(pieces)
    if "\ud800" in query:  # no URL can carry it: refused, whichever way it would go
        with pytest.raises(ValueError, match="lone surrogate"):
            canonicalize_request(method, f"/p?{query}")
        return
    slow = canonical_request(method, "/p", parse_params(query))
    assert canonicalize_request(method, f"/p?{query}") == slow
    assert canonical_request_from_query(method, "/p", query) == slow
    params = parse_raw_params(query)
    assert canonical_request_from_query(method, "/p", query, params=params) == slow


@given(data=st.binary(max_size=5), lower=st.booleans())
def test_is_canonical_exactly_when_a_value_survives_decoding_and_encoding(
    data: bytes, lower: bool
) -> None:
    escaped = "".join(f"%{byte:02x}" if lower else f"%{byte:02X}" for byte in data)
    round_trip = canonical_request("GET", "/p", {"n": [parse_params(f"n={escaped}")["n"][0]]})
    assert bool(is_canonical(escaped)) == (round_trip == f"GET&/p&n={escaped}")


@pytest.mark.parametrize(
    "query",
    [
        "a",  # a piece without "="
        "a=1&&b=2",  # an empty piece
        "a=1&",  # an empty piece at the end
        "=x&a=1",  # an empty name
        "a=b=c",  # a piece with two "="
        "a=%zz",  # a "%" that is not an escape
        "a=%4",  # an escape cut off
        "a=%FF",  # invalid UTF-8
        "a=%E2%82",  # UTF-8 cut off
        "a=%C3%A9%A9",  # a stray continuation byte
        "a=%\n0A",  # a line break where an escape should be
        "a=\ud800",  # a lone surrogate
    ],
)
def test_one_pass_declines_other_shapes(query: str) -> None:
    assert one_pass_canonical_query(query) is None
    # ... and the general way still canonicalises them (all but the lone surrogate).
    if "\ud800" not in query:
        assert canonicalize_request("GET", f"/p?{query}").startswith("GET&/p&")


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("a=%7e", "a=~"),  # lower-case hex, and an escape of an unreserved character
        ("a=%2f&b=%c3%a9", "a=%2F&b=%C3%A9"),  # lower-case hex
        ("a=caf\u00e9", "a=caf%C3%A9"),  # beyond ASCII
        ("a=x y+z", "a=x%20y%20z"),  # a raw space, and "+" for one
        ("a=%F0%9F%90%9B&a=b", "a=b,%F0%9F%90%9B"),  # a repeated name beyond the BMP
        ("f%6Fo=1", "foo=1"),  # an escaped name
    ],
)
def test_one_pass_takes_what_needs_more_than_sorting(query: str, canonical: str) -> None:
    assert one_pass_canonical_query(query) == canonical == _general_query(query)


def test_the_escapes_that_need_fixing_are_exactly_the_non_canonical_ones() -> None:
    # _fixed_escapes finds what to rewrite with one regular expression; what it leaves must be
    # exactly the canonical escapes, and what follows every other "%" is returned.
    hex_digits = "0123456789ABCDEFabcdef"
    for high in hex_digits:
        for low in hex_digits:
            found = _fast_query._NOT_CANONICAL_ESCAPES(f"x%{high}{low}y")
            assert found == ([] if high + low in _fast_query._CANONICAL_HEX else [high + low])
    assert _fast_query._NOT_CANONICAL_ESCAPES("a=%zz&b=%4") == ["zz", "4"]
    assert _fast_query._NOT_CANONICAL_ESCAPES("a=%\n0A%") == ["\n0", ""]


def test_thousands_of_repeated_names_cost_their_size() -> None:
    # Every name twice: merged in one pass over the groups (a search per group would take
    # seconds here), with the general canonicaliser's result.
    query = "&".join(f"n{index // 2}=v{index % 7}" for index in range(20_000))
    assert one_pass_canonical_query(query) == _general_query(query)


def test_repeated_values_are_sorted_by_their_decoding_not_their_encoding() -> None:
    # "~" (0x7E) sorts before DEL (0x7F) decoded; encoded, "%7F" sorts before "~".
    assert one_pass_canonical_query("v=%7F&v=~") == "v=~,%7F"
    assert one_pass_canonical_query("v=%7F&v=~") == _general_query("v=%7F&v=~")


def test_repeated_values_beyond_the_bmp_keep_java_utf16_order() -> None:
    # U+1F600 is a surrogate pair (D83D DE00) in UTF-16, so it sorts before U+FFFD there,
    # although its code point is higher.
    query = "v=%EF%BF%BD&v=%F0%9F%98%80"
    assert _general_query(query) == "v=%F0%9F%98%80,%EF%BF%BD"
    assert one_pass_canonical_query(query) in (None, _general_query(query))


def test_a_single_value_beyond_the_bmp_needs_no_sorting() -> None:
    assert one_pass_canonical_query("a=%F0%9F%90%9B") == "a=%F0%9F%90%9B"


def test_a_name_that_ends_sorts_before_its_longer_neighbours() -> None:
    # "a-b=" < "a=" as whole entries, but the name "a" sorts before "a-b".
    assert one_pass_canonical_query("a-b=1&a=2&a1=3") == "a=2&a-b=1&a1=3"


def test_the_invariant_names_the_tests_that_hold_it() -> None:
    named = re.findall(r"``(test_\w+)``", _fast_query.__doc__ or "")
    assert named and all(callable(globals().get(name)) for name in named)

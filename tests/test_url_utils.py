"""The canonical request and qsh, against Atlassian's vectors and the Java reference's rules."""

from __future__ import annotations

import hashlib
import random
from typing import Any
from urllib.parse import quote, unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlassian_jwt.url_utils import (
    base_path,
    canonical_request,
    canonicalize_request,
    hash_url,
    parse_params,
    parse_query_params,
    qsh_of,
    split_url,
)
from tests.support import EXTRA, OFFICIAL

ALL_VECTORS = [
    pytest.param(vector, id=f"official: {vector['name']}") for vector in OFFICIAL["tests"]
] + [pytest.param(vector, id=f"extra: {vector['name']}") for vector in EXTRA["tests"]]


def test_every_vector_is_here() -> None:
    assert len(OFFICIAL["tests"]) == 79
    assert len(EXTRA["tests"]) == 31


@pytest.mark.parametrize("vector", ALL_VECTORS)
def test_vector_canonical_request_and_qsh(vector: dict[str, Any]) -> None:
    args = (vector["method"], vector["url"], vector.get("baseUrl"))
    body = vector.get("body")
    assert canonicalize_request(*args, body_params=body) == vector["canonical"]
    assert hash_url(*args, body_params=body) == vector["qsh"]


def test_spec_example() -> None:
    url = "/path/to/service?zee_last=param&repeated=parameter 1&first=param&repeated=parameter 2"
    assert (
        hash_url("GET", url) == "e52bb281606c3bd9ca16cfe96fe2df78f5d9ffa126f06befd750dfa10fa1a897"
    )


def test_qsh_is_sha256_of_canonical_request() -> None:
    url = "/rest/api/3/search?jql=project%20%3D%20ABC&maxResults=5"
    canonical = canonicalize_request("get", url)
    assert hash_url("get", url) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Regressions: each place where 3.0.0 disagreed with the Java reference.


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        ("//a//", "//a/"),
        ("//a", "//a"),
        ("/a//", "/a/"),
        ("///", "//"),
        ("/a/", "/a"),
    ],
)
def test_regression_3_0_0_stripped_all_leading_and_trailing_slashes(url: str, uri: str) -> None:
    assert canonicalize_request("GET", url) == f"GET&{uri}&"


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        ("/a:b/c", "/a:b/c"),
        ("/mailto:x", "/mailto:x"),
        ("https://example.com/a:b/c?x=1", "/a:b/c"),
    ],
)
def test_regression_3_0_0_read_colon_in_first_segment_as_scheme(url: str, uri: str) -> None:
    assert canonicalize_request("GET", url).split("&")[1] == uri


@pytest.mark.parametrize(
    ("url", "uri"),
    [
        ("/a;p/", "/a;p"),
        ("/a/;p", "/a/;p"),
        ("/a;p=1/b;q=2", "/a;p=1/b;q=2"),
    ],
)
def test_regression_3_0_0_moved_path_params_after_trailing_slash(url: str, uri: str) -> None:
    assert canonicalize_request("GET", url) == f"GET&{uri}&"


def test_regression_3_0_0_had_no_base_path_support() -> None:
    expected = "GET&/rest/api/space&limit=10"
    for base in ("https://example.atlassian.net/wiki", "/wiki", "/wiki/"):
        assert canonicalize_request("GET", "/wiki/rest/api/space?limit=10", base) == expected
        absolute = "https://example.atlassian.net/wiki/rest/api/space?limit=10"
        assert canonicalize_request("GET", absolute, base) == expected


def test_regression_3_0_0_sorted_values_by_code_point() -> None:
    # U+1F600 is one code point above U+FFFD but, as the surrogate pair D83D DE00, it sorts
    # below it in Java's UTF-16 order.
    emoji, replacement = "\U0001f600", "\ufffd"
    url = f"/p?v={quote(replacement)}&v={quote(emoji)}"
    assert canonicalize_request("GET", url) == "GET&/p&v=%F0%9F%98%80,%EF%BF%BD"
    assert sorted([replacement, emoji]) == [replacement, emoji]  # Python's order differs


def test_values_sorted_by_decoded_not_encoded_string() -> None:
    # Decoded: "+" (0x2B) < "," (0x2C) < "a"; encoded "%2B" < "%2C" too, but "%20" (space)
    # decodes below both: the order of decoded strings decides.
    canonical = canonicalize_request("GET", "/p?v=a&v=%2C&v=%2B&v=+")
    assert canonical == "GET&/p&v=%20,%2B,%2C,a"


def test_parameter_names_sorted_by_encoded_name_not_by_entry() -> None:
    # Sorting "a=..." entries as whole strings would put "a1=" before "a=".
    assert canonicalize_request("GET", "/p?a1=x&a=y") == "GET&/p&a=y&a1=x"


def test_semicolon_does_not_separate_parameters() -> None:
    assert canonicalize_request("GET", "/p?a=1;b=2") == "GET&/p&a=1%3Bb%3D2"


def test_jwt_parameter_dropped_case_sensitively() -> None:
    assert canonicalize_request("GET", "/p?jwt=x&jwt=y&JWT=z&Jwt=w") == "GET&/p&JWT=z&Jwt=w"


def test_fragment_is_not_part_of_the_request() -> None:
    assert canonicalize_request("GET", "/p?a=1#frag?b=2") == "GET&/p&a=1"


def test_names_merged_after_decoding() -> None:
    assert canonicalize_request("GET", "/p?a+b=1&a%20b=2") == "GET&/p&a%20b=1,2"


def test_empty_names_are_dropped() -> None:
    assert canonicalize_request("GET", "/p?=x&&a=1&") == "GET&/p&a=1"


def test_malformed_percent_escape_kept_literally() -> None:
    assert canonicalize_request("GET", "/p?a=%zz&b=%") == "GET&/p&a=%25zz&b=%25"


def test_invalid_utf8_becomes_replacement_character() -> None:
    assert canonicalize_request("GET", "/p?a=%FF") == "GET&/p&a=%EF%BF%BD"


def test_path_is_not_decoded_or_reencoded() -> None:
    canonical = canonicalize_request("GET", "/a%20b/c%2Fd/é?x=1")
    assert canonical == "GET&/a%20b/c%2Fd/é&x=1"


def test_whitespace_only_path_becomes_root_but_no_break_space_does_not() -> None:
    assert canonicalize_request("GET", " ") == "GET&/&"
    # Java's Character.isWhitespace is false for U+00A0, so it is a path of its own.
    assert canonicalize_request("GET", "\u00a0") == "GET&/\u00a0&"


def test_method_is_upper_cased() -> None:
    assert canonicalize_request("patch", "/p").startswith("PATCH&")


def test_scheme_relative_url_is_a_path() -> None:
    assert canonicalize_request("GET", "//host/path") == "GET&//host/path&"


def test_absolute_url_with_port_and_userinfo() -> None:
    url = "https://user:pw@example.com:8443/x/y/?q=1"
    assert canonicalize_request("GET", url) == "GET&/x/y&q=1"


def test_base_path_is_a_plain_prefix() -> None:
    assert canonicalize_request("GET", "/app/x", "/app") == "GET&/x&"
    assert canonicalize_request("GET", "/app", "/app") == "GET&/&"
    assert canonicalize_request("GET", "/other/x", "/app") == "GET&/other/x&"
    # A root base URL removes nothing.
    assert canonicalize_request("GET", "/x/", "https://example.com/") == "GET&/x&"


@pytest.mark.parametrize(
    ("base_url", "path"),
    [
        (None, ""),
        ("", ""),
        ("https://example.atlassian.net", ""),
        ("https://example.atlassian.net/", ""),
        ("https://example.atlassian.net/wiki", "/wiki"),
        ("https://example.atlassian.net/wiki/?x=1#f", "/wiki"),
        ("/jira", "/jira"),
        ("jira", "/jira"),
    ],
)
def test_base_path(base_url: str | None, path: str) -> None:
    assert base_path(base_url) == path


def test_body_params_merge_with_query_params() -> None:
    url = "/submit?b=2&a=1"
    expected = "POST&/submit&a=1,3&b=2&c=x%20y"
    assert canonicalize_request("POST", url, body_params="a=3&c=x+y&jwt=t") == expected
    assert canonicalize_request("POST", url, body_params=b"a=3&c=x+y") == expected
    assert canonicalize_request("POST", url, body_params={"a": "3", "c": ["x y"]}) == expected


@pytest.mark.parametrize(
    "body",
    [[("a", "1")], {"a": 1}, {1: "a"}, {"a": ["1", None]}, 42],
    ids=["pairs", "number value", "number name", "none in a list", "number"],
)
def test_body_params_that_are_not_text_are_a_type_error(body: Any) -> None:
    with pytest.raises(TypeError, match="body_params"):
        canonicalize_request("POST", "/p", body_params=body)


def test_lone_surrogate_is_a_clear_value_error() -> None:
    for url in ("/p\ud800", "/p?a=\udfff", "https://example.com/\ud83d?x"):
        with pytest.raises(ValueError, match="lone surrogate"):
            hash_url("GET", url)
    with pytest.raises(ValueError, match="lone surrogate"):
        hash_url("GET", "/p", "/\ud800")
    with pytest.raises(ValueError, match="lone surrogate"):
        hash_url("POST", "/p", body_params={"a": "\ud800"})


def test_non_string_url_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        hash_url("GET", b"/p")  # type: ignore[arg-type]


def test_parse_query_params_keeps_3_0_0_meaning() -> None:
    url = "https://example.com/p?a=1&b=x+y&a=%32&empty=&jwt=t.o.k"
    assert parse_query_params(url) == {"a": ["1", "2"], "b": ["x y"], "jwt": ["t.o.k"]}
    assert parse_query_params(url, keep_blank_values=True)["empty"] == [""]
    assert parse_query_params("/no-query") == {}


# Properties.

_text = st.text(st.characters(codec="utf-8"), max_size=12)
_params = st.lists(st.tuples(_text, _text), max_size=8)


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(name, safe='')}={quote(value, safe='')}" for name, value in pairs)


@given(pairs=_params, seed=st.integers())
def test_qsh_does_not_depend_on_parameter_order(pairs: list[tuple[str, str]], seed: int) -> None:
    shuffled = list(pairs)
    random.Random(seed).shuffle(shuffled)
    assert hash_url("GET", f"/p?{_query(pairs)}") == hash_url("GET", f"/p?{_query(shuffled)}")


@given(
    segments=st.lists(st.text(st.characters(codec="utf-8"), min_size=1), max_size=4),
    params=st.dictionaries(_text, _text, max_size=8),
)
def test_canonical_request_is_a_fixed_point(segments: list[str], params: dict[str, str]) -> None:
    # Fed back as a request, a canonical request canonicalises to itself (for single-valued
    # parameters, whose values are not joined with a raw ",", and paths without a trailing
    # slash, of which each pass removes one).
    path = "/" + "/".join(quote(segment, safe="") for segment in segments)
    canonical = canonicalize_request("GET", f"{path}?{_query(list(params.items()))}")
    method, uri, query = canonical.split("&", 2)
    assert canonicalize_request(method, f"{uri}?{query}") == canonical


@given(url=st.text(max_size=60), base=st.one_of(st.none(), st.text(max_size=10)))
def test_any_text_gives_a_hash_or_a_value_error(url: str, base: str | None) -> None:
    try:
        qsh = hash_url("GET", url, base)
    except ValueError as error:
        assert "lone surrogate" in str(error)
    else:
        assert len(qsh) == 64 and int(qsh, 16) >= 0


# The fast paths of decoding and encoding give exactly what the standard library's unquote_plus
# and quote give (regression guard for the benchmark's optimisations, issue 6).

_form_text = st.lists(
    st.one_of(
        st.sampled_from(["%", "+", "=", "&", "%2", "%20", "%2b", "%C3", "%A9", "%zz", "%F0%9F"]),
        st.characters(codec="utf-8"),
    ),
    max_size=16,
).map("".join)


@given(query=_form_text)
def test_form_decoding_is_unquote_plus(query: str) -> None:
    expected: dict[str, list[str]] = {}
    for piece in query.split("&"):
        name, _, value = piece.partition("=")
        if name:
            decoded = unquote_plus(name, errors="replace")
            expected.setdefault(decoded, []).append(unquote_plus(value, errors="replace"))
    assert parse_params(query) == expected


@given(value=st.text(st.characters(codec="utf-8"), max_size=16))
def test_percent_encoding_is_quote(value: str) -> None:
    assert canonical_request("GET", "/p", {"n": [value]}) == f"GET&/p&n={quote(value, safe='')}"


# Raw values that are already canonical skip decoding and encoding (issue 6): the result must
# be byte for byte what decoding everything and encoding it again gives.

_raw_query = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "%",
                "+",
                "=",
                "&",
                "&&",
                "jwt",
                "%6Awt",
                "j",
                "a",
                "a%20b",
                "a+b",
                "%2",
                "%20",
                "%2b",
                "%2B",
                "%2F",
                "%7E",
                "%7e",
                "%41",
                "%7F",
                "%00",
                "%3A",
                "%FF",
                "%C3%A9",
                "%zz",
                "~",
            ]
        ),
        st.characters(codec="utf-8"),
    ),
    max_size=24,
).map("".join)


@given(query=_raw_query, method=st.sampled_from(["GET", "post"]))
def test_the_raw_fast_path_equals_decoding_then_encoding(query: str, method: str) -> None:
    path, raw = split_url(f"/x/p/?{query}")  # "#" starts a fragment
    slow = canonical_request(method, path, parse_params(raw), "/x")
    assert canonicalize_request(method, f"/x/p/?{query}", "/x") == slow
    assert hash_url(method, f"/x/p/?{query}", "/x") == qsh_of(slow)

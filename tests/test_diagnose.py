"""``diagnose_qsh`` names the mistakes real signers make, each signed the way that signer signs.

Most mistakes are exercised through ``atlassian-jwt explain`` in ``test_cli.py``. The ones here
are those of atlassian-connect-express (ACE), Atlassian's Node.js framework, whose signer builds
the canonical request from a parsed *query object* rather than from the query string. The
helper :func:`js_object_signer` is a small model of that approach, written from how it behaves:

* it sorts the object's keys with JavaScript's ``sort()``: by the **decoded** names' UTF-16
  code units, where Atlassian sorts the percent-encoded names;
* it turns each value into text as JavaScript does, so a ``null`` (what a parser with strict
  null handling makes of ``?expand``) becomes ``null``;
* it hashes the query object only, so a form body the product hashes is left out.

Each test signs a request with it and checks that the diagnosis names that mistake, and that
the canonical request it names is the one the signer hashed.
"""

from __future__ import annotations

import hashlib
from typing import Optional, Union
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from atlassian_jwt.diagnose import diagnose_qsh
from atlassian_jwt.url_utils import canonicalize_request, hash_url

QueryObject = dict[str, Union[Optional[str], list[str]]]


def _js_text(value: str | None) -> str:
    # JavaScript's String(value): null is the text "null".
    return "null" if value is None else value


def _rfc3986(text: str) -> str:
    # Everything but the unreserved characters, as upper-case UTF-8 escapes.
    return quote(text, safe="-_.~")


def _js_sort_key(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def js_object_signer(method: str, path: str, query: QueryObject) -> str:
    """The canonical request as a signer that hashes a parsed query object builds it."""
    entries = []
    for name in sorted(query, key=_js_sort_key):
        if name == "jwt":
            continue
        value = query[name]
        if isinstance(value, list):
            encoded = ",".join(_rfc3986(v) for v in sorted(value, key=_js_sort_key))
        else:
            encoded = _rfc3986(_js_text(value))
        entries.append(f"{_rfc3986(name)}={encoded}")
    return f"{method.upper()}&{path}&{'&'.join(entries)}"


def qsh(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_names_sorted_by_their_decoded_text() -> None:
    # "." sorts before ":", but "%3A" before "."; the signer sorted the decoded names.
    url = "/rest/api/search?field:name=b&field.name=a&q=x"
    query: QueryObject = {"field.name": "a", "field:name": "b", "q": "x"}
    signed = js_object_signer("GET", "/rest/api/search", query)
    assert signed == "GET&/rest/api/search&field.name=a&field%3Aname=b&q=x"
    assert signed != canonicalize_request("GET", url)
    [diagnosis] = diagnose_qsh("GET", url, qsh(signed))
    assert diagnosis.codes == ("names_sorted_decoded",)
    assert diagnosis.canonical_request == signed


def test_names_sorted_by_their_decoded_text_with_unicode_names() -> None:
    url = "/page?z=1&%C3%A9t%C3%A9=2"
    signed = js_object_signer("GET", "/page", {"z": "1", "été": "2"})
    [diagnosis] = diagnose_qsh("GET", url, qsh(signed))
    assert (diagnosis.codes, diagnosis.canonical_request) == (("names_sorted_decoded",), signed)


def test_a_valueless_parameter_hashed_as_null() -> None:
    url = "/rest/api/3/issue/DEMO-1?expand&fields=summary"
    signed = js_object_signer(
        "GET", "/rest/api/3/issue/DEMO-1", {"expand": None, "fields": "summary"}
    )
    assert signed == "GET&/rest/api/3/issue/DEMO-1&expand=null&fields=summary"
    [diagnosis] = diagnose_qsh("GET", url, qsh(signed))
    assert diagnosis.codes == ("valueless_param_as_null",)
    assert diagnosis.canonical_request == signed


def test_a_valueless_parameter_hashed_without_an_equals_sign() -> None:
    url = "/rest/api/3/issue/DEMO-1?expand&fields=summary"
    signed = "GET&/rest/api/3/issue/DEMO-1&expand&fields=summary"
    [diagnosis] = diagnose_qsh("GET", url, qsh(signed))
    assert (diagnosis.codes, diagnosis.canonical_request) == (
        ("valueless_param_without_equals",),
        signed,
    )


def test_a_form_body_left_out_of_the_hash() -> None:
    # The app verifies the body with the query (body_params, include_form_body=True), as the
    # product's servlet side does; the signer hashed its query object alone.
    url = "/submit?a=1"
    body = "b=2&c=x+y"
    signed = js_object_signer("POST", "/submit", {"a": "1"})
    assert signed != canonicalize_request("POST", url, body_params=body)
    [diagnosis] = diagnose_qsh("POST", url, qsh(signed), body=body, body_hashed=True)
    assert diagnosis.codes == ("form_body_omitted",)
    assert diagnosis.canonical_request == "POST&/submit&a=1"


def test_a_form_body_hashed_when_the_verifier_leaves_it_out() -> None:
    signed = hash_url("POST", "/submit?a=1&b=2")
    [diagnosis] = diagnose_qsh("POST", "/submit?a=1", signed, body="b=2")
    assert diagnosis.codes == ("form_body_hashed",)


def test_two_of_these_mistakes_at_once() -> None:
    url = "/search?field:name=b&field.name=a&flag"
    signed = js_object_signer(
        "GET", "/search", {"field.name": "a", "field:name": "b", "flag": None}
    )
    [diagnosis] = diagnose_qsh("GET", url, qsh(signed))
    assert set(diagnosis.codes) == {"names_sorted_decoded", "valueless_param_as_null"}
    assert diagnosis.canonical_request == signed


_TEXT = st.text(alphabet="ab.:=é+%2&", max_size=12)


@given(url=_TEXT.map(lambda text: "/p?" + text), body=_TEXT)
def test_the_correct_canonical_request_is_never_called_a_mistake(url: str, body: str) -> None:
    for body_hashed in (False, True):
        canonical = canonicalize_request(
            "POST", url, body_params=body if body_hashed else None
        )
        assert diagnose_qsh("POST", url, qsh(canonical), body=body, body_hashed=body_hashed) == []

"""The unverified read of a token decodes segments exactly as PyJWT's own helper does."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jwt.utils import base64url_decode

from atlassian_jwt import MalformedTokenError
from atlassian_jwt.tokens import decode_unverified

_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256"}').decode().rstrip("=")


def _reference(segment: str) -> Any:
    """What the read gave when it used jwt.utils.base64url_decode (before issue 6)."""
    try:
        value = json.loads(base64url_decode(segment.encode("ascii")))
    except (binascii.Error, ValueError):
        return "malformed"
    return value if isinstance(value, dict) else "malformed"


def _ours(segment: str) -> Any:
    try:
        return decode_unverified(f"{_HEADER}.{segment}.sig")[1]
    except MalformedTokenError:
        return "malformed"


_objects = st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=4)


@given(claims=_objects, strip=st.integers(0, 2), junk=st.sampled_from(["", "=", "==", "!", "+/"]))
def test_payload_segments_decode_as_pyjwt_decodes_them(
    claims: dict[str, Any], strip: int, junk: str
) -> None:
    # Valid segments, with padding left on or cut short, and invalid characters appended.
    segment = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode()
    segment = segment.rstrip("=") if strip == 0 else segment[: len(segment) - strip]
    assert _ours(segment + junk) == _reference(segment + junk)


@given(segment=st.text(st.sampled_from("AZaz09-_+/=!"), max_size=24))
def test_arbitrary_segments_decode_or_fail_as_pyjwt_does(segment: str) -> None:
    assert _ours(segment) == _reference(segment)


@pytest.mark.parametrize("segment", ["", "e30", "e30=", "e30==", "W10", "bnVsbA", "x"])
def test_known_segments(segment: str) -> None:
    # e30 is {}, W10 is [], bnVsbA is null: only a JSON object is a payload.
    assert _ours(segment) == ({} if segment.startswith("e30") else "malformed")
    assert _reference(segment) == _ours(segment)

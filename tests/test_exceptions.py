"""The exception tree: one catch-all for rejections, PyJWT's types kept, stable codes."""

from __future__ import annotations

import inspect

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import exceptions as exc

REJECTIONS = [
    cls
    for _, cls in inspect.getmembers(exc, inspect.isclass)
    if issubclass(cls, exc.TokenRejectedError)
]


def test_decode_error_is_pyjwts() -> None:
    assert atlassian_jwt.DecodeError is jwt.DecodeError
    assert atlassian_jwt.authenticate.DecodeError is jwt.DecodeError


@pytest.mark.parametrize("cls", REJECTIONS, ids=lambda cls: cls.__name__)
def test_every_rejection_is_a_decode_error_with_a_unique_code(cls: type[Exception]) -> None:
    assert issubclass(cls, atlassian_jwt.DecodeError)
    codes = [other.code for other in REJECTIONS if other is not cls]
    assert cls.code not in codes  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ours", "pyjwts"),
    [
        (exc.InvalidSignatureError, jwt.InvalidSignatureError),
        (exc.TokenExpiredError, jwt.ExpiredSignatureError),
        (exc.TokenNotYetValidError, jwt.ImmatureSignatureError),
        (exc.MissingClaimError, jwt.MissingRequiredClaimError),
        (exc.AlgorithmNotAllowedError, jwt.InvalidAlgorithmError),
        (exc.InvalidAudienceError, jwt.InvalidAudienceError),
        (exc.InvalidIssuerError, jwt.InvalidIssuerError),
    ],
)
def test_rejections_also_subclass_the_matching_pyjwt_exception(
    ours: type[Exception], pyjwts: type[Exception]
) -> None:
    assert issubclass(ours, pyjwts)


def test_key_fetch_error_is_not_a_rejection() -> None:
    assert not issubclass(exc.KeyFetchError, jwt.DecodeError)
    assert issubclass(exc.KeyFetchError, jwt.PyJWTError)


def test_context_is_kept_out_of_args_and_repr() -> None:
    error = exc.QshMismatchError(
        "The token's qsh does not match this request",
        canonical_request="GET&/x&",
        expected_qsh="e",
        token_qsh="t",
    )
    assert error.args == ("The token's qsh does not match this request",)
    assert "GET&/x&" not in repr(error)
    assert error.canonical_request == "GET&/x&"


def test_missing_claim_names_the_claim() -> None:
    error = exc.MissingClaimError("qsh")
    assert error.claim == "qsh" and "qsh" in str(error)
    assert error.code == "missing_claim"


def test_token_exchange_error_is_not_a_rejection_and_keeps_context_out_of_args() -> None:
    assert not issubclass(exc.TokenExchangeError, jwt.DecodeError)
    assert issubclass(exc.TokenExchangeError, jwt.PyJWTError)
    assert atlassian_jwt.TokenExchangeError is exc.TokenExchangeError
    error = exc.TokenExchangeError(
        "The token exchange failed: HTTP 400 (invalid_grant)",
        reason="http_status",
        status=400,
        oauth_error="invalid_grant",
        error_description="assertion expired",
    )
    assert error.args == ("The token exchange failed: HTTP 400 (invalid_grant)",)
    assert "assertion expired" not in repr(error)
    assert (error.code, error.status, error.retryable) == ("token_exchange_failed", 400, False)

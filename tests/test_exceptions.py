"""The exception tree: one catch-all for rejections, PyJWT's types kept, stable codes.

The tree drawn in the docstring of :mod:`atlassian_jwt.exceptions` and the table in
docs/verifying.rst are the documentation of record; the tests here hold both to the classes.
"""

from __future__ import annotations

import inspect
import pickle
import re
from pathlib import Path
from typing import Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import exceptions as exc
from atlassian_jwt import tenants

# The page on verifying requests holds the table of rejections.
VERIFYING = Path(__file__).parent.parent / "docs" / "verifying.rst"

CLASSES = {
    name: cls
    for name, cls in inspect.getmembers(exc, inspect.isclass)
    if issubclass(cls, Exception) and cls.__module__ == exc.__name__
}
REJECTIONS = [cls for cls in CLASSES.values() if issubclass(cls, exc.TokenRejectedError)]


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
    assert error.signature_verified is False


def test_context_is_keyword_arguments_only() -> None:
    # Each piece of context is a named parameter: a misspelt one is an error, not an
    # attribute nobody reads.
    with pytest.raises(TypeError):
        exc.UnknownIssuerError("No shared secret", clientkey="x")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        exc.TokenTooLargeError("too long", 9000, 8192)  # type: ignore[call-arg]
    error = exc.TokenTooLargeError("too long", length=9000, max_length=8192)
    assert (error.length, error.max_length, error.code) == (9000, 8192, "token_too_large")


def test_missing_claim_names_the_claim() -> None:
    error = exc.MissingClaimError("qsh")
    assert error.claim == "qsh" and "qsh" in str(error)
    assert error.code == "missing_claim"


NOT_REJECTIONS = [
    exc.TokenExchangeError,
    exc.ForgeTokenUnavailableError,
    exc.ConnectTenantNotFoundError,
]


@pytest.mark.parametrize("cls", [*REJECTIONS, *NOT_REJECTIONS], ids=lambda c: c.__name__)
def test_every_exception_survives_pickling_with_its_context(cls: type[Exception]) -> None:
    # Worker pools and task queues pickle exceptions; keyword-only context must survive it.
    required = {
        name: f"value of {name}"
        for name, parameter in inspect.signature(cls).parameters.items()
        if parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty
    }
    positional = ["qsh"] if cls is exc.MissingClaimError else ["what failed"]
    error = cls(*positional, **required)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert (str(copy), copy.args) == (str(error), error.args)
    assert vars(copy) == vars(error)


def test_token_exchange_error_is_not_a_rejection_and_keeps_context_out_of_args() -> None:
    assert not issubclass(exc.TokenExchangeError, jwt.DecodeError)
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


def test_regression_token_exchange_failure_is_no_pyjwt_error() -> None:
    # An app whose "except jwt.PyJWTError" answers 401 must not refuse its caller because the
    # authorization server is down (see the docstring of atlassian_jwt.exceptions).
    assert not issubclass(exc.TokenExchangeError, jwt.PyJWTError)
    with pytest.raises(exc.TokenExchangeError):
        try:
            raise exc.TokenExchangeError("timed out", reason="timeout")
        except jwt.PyJWTError:  # pragma: no cover - the point: this must not catch it
            pytest.fail("a TokenExchangeError was caught as a PyJWTError")


@pytest.mark.parametrize("cls", NOT_REJECTIONS, ids=lambda c: c.__name__)
def test_what_is_no_rejection_is_no_pyjwt_error_and_keeps_context_out_of_args(
    cls: type[Exception],
) -> None:
    assert not issubclass(cls, jwt.PyJWTError)
    assert getattr(atlassian_jwt, cls.__name__) is cls
    required = {
        name: "ari:cloud:ecosystem::installation/1"
        for name, parameter in inspect.signature(cls).parameters.items()
        if parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty
    }
    error = cls("what failed", **required)
    assert error.args == ("what failed",) and str(error) == "what failed"
    assert "installation/1" not in repr(error)


def test_forge_context_errors_are_the_claim_errors_with_codes_of_their_own() -> None:
    missing = exc.ForgeContextMissingError("app.installationId")
    assert isinstance(missing, exc.MissingClaimError)
    assert (missing.code, missing.claim) == ("forge_context_missing", "app.installationId")
    assert str(missing) == 'The Forge invocation token has no "app.installationId"'
    invalid = exc.ForgeContextInvalidError("not https", claim="app.apiBaseUrl")
    assert isinstance(invalid, exc.InvalidClaimError)
    assert (invalid.code, invalid.claim) == ("forge_context_invalid", "app.apiBaseUrl")


def test_tenant_store_error_has_one_home_and_a_code() -> None:
    assert tenants.TenantStoreError is exc.TenantStoreError is atlassian_jwt.TenantStoreError
    assert not issubclass(exc.TenantStoreError, jwt.PyJWTError)
    assert exc.TenantStoreError("locked").code == "store_unavailable"


# The documented tree and tables, against the classes.

_TREE_LINE = re.compile(
    r"^(?P<indent>[ │├└─]*)(?P<name>[\w.]+)(?: \.+ (?:atlassian_jwt\.DecodeError|"
    r'"(?P<code>\w+)"))?(?P<rest>.*)$'
)


def _documented_tree() -> list[tuple[str, str, str | None, list[str]]]:
    """``(name, parent, code, footnoted PyJWT bases)`` for each class the docstring draws."""
    doc = exc.__doc__ or ""
    tree = doc.split("for logs and metrics::\n\n", 1)[1].split("\n\n", 1)[0]
    notes = dict(re.findall(r"\[(\d)\] ``(jwt\.\w+)``", doc))
    rows: list[tuple[str, str, str | None, list[str]]] = []
    parents: list[tuple[int, str]] = []
    for line in tree.splitlines():
        match = _TREE_LINE.match(line.strip("\n")[4:])
        assert match, line
        depth = len(match["indent"])
        while parents and parents[-1][0] >= depth:
            parents.pop()
        marks = re.findall(r"\[(\d)\]", match["rest"])
        if parents:
            rows.append((match["name"], parents[-1][1], match["code"], [notes[m] for m in marks]))
        parents.append((depth, match["name"]))
    return rows


def _resolve(name: str) -> type:
    if name == "Exception":
        return Exception
    if name.startswith("jwt."):
        resolved: type = getattr(jwt, name[4:])
        return resolved
    return CLASSES[name]


def test_the_docstring_tree_draws_every_class_with_its_parent_and_code() -> None:
    rows = _documented_tree()
    drawn = {name for name, *_ in rows}
    assert set(CLASSES) <= drawn
    for name, parent, code, footnoted in rows:
        cls = _resolve(name)
        assert _resolve(parent) in cls.__bases__, (name, parent)
        if name in CLASSES:
            assert code == cls.code, name  # type: ignore[attr-defined]
            others = [base for base in cls.__bases__ if base is not _resolve(parent)]
            assert others == [_resolve(note) for note in footnoted], name


def test_the_docs_table_lists_every_rejection_with_its_code_and_pyjwt_base() -> None:
    page = VERIFYING.read_text(encoding="utf-8")
    table = page.split("exception                         ``code``", 1)[1]
    table = table.split("\n\n", 1)[0]
    rows = [line.split() for line in table.splitlines() if line.startswith("``")]
    documented = {
        row[0].strip("`"): (row[1].strip("`"), row[2].strip("`") if len(row) > 2 else None)
        for row in rows
    }
    expected: dict[str, tuple[str, Any]] = {}
    for cls in REJECTIONS:
        if cls is exc.TokenRejectedError:
            continue
        pyjwt_bases = [base.__name__ for base in cls.__bases__ if base.__module__ != exc.__name__]
        expected[cls.__name__] = (cls.code, pyjwt_bases[0] if pyjwt_bases else None)
    assert documented == expected

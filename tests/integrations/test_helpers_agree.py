"""The Flask, Django and Starlette helpers agree: one argument order, one list of events."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from atlassian_jwt import lifecycle
from atlassian_jwt.integrations import django_ext, flask_ext, starlette_ext

pytestmark = pytest.mark.extras

HELPERS = [flask_ext, django_ext, starlette_ext]


def shape(function: object) -> list[tuple[str, inspect._ParameterKind]]:
    parameters = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    return [(parameter.name, parameter.kind) for parameter in parameters]


@pytest.mark.parametrize("helper", HELPERS, ids=lambda module: module.__name__.rsplit(".")[-1])
def test_authenticate_request_takes_the_authenticator_then_the_request(
    helper: ModuleType,
) -> None:
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    keyword = inspect.Parameter.KEYWORD_ONLY
    assert shape(helper.authenticate_request) == [
        ("authenticator", positional),
        ("request", positional),
        ("allow_context_qsh", keyword),
        ("include_form_body", keyword),
    ]
    assert shape(helper.require_jwt) == [
        ("authenticator", positional),
        ("allow_context_qsh", keyword),
        ("include_form_body", keyword),
    ]


@pytest.mark.parametrize("helper", HELPERS, ids=lambda module: module.__name__.rsplit(".")[-1])
def test_the_lifecycle_events_have_one_home(helper: ModuleType) -> None:
    assert helper.LIFECYCLE_EVENTS is lifecycle.LIFECYCLE_EVENTS
    assert "OnEvent" not in vars(helper) or helper.OnEvent is lifecycle.OnEvent

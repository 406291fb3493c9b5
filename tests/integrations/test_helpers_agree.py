"""The Flask, Django and Starlette helpers agree: one list of lifecycle events."""

from __future__ import annotations

from types import ModuleType

import pytest

from atlassian_jwt import lifecycle
from atlassian_jwt.integrations import django_ext, flask_ext, starlette_ext

pytestmark = pytest.mark.extras

HELPERS = [flask_ext, django_ext, starlette_ext]


@pytest.mark.parametrize("helper", HELPERS, ids=lambda module: module.__name__.rsplit(".")[-1])
def test_the_lifecycle_events_have_one_home(helper: ModuleType) -> None:
    assert helper.LIFECYCLE_EVENTS is lifecycle.LIFECYCLE_EVENTS
    assert "OnEvent" not in vars(helper) or helper.OnEvent is lifecycle.OnEvent

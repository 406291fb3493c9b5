"""Django's settings for every test module that uses Django: configured once, by whichever
module is imported first, and the same whichever it is (each test sets its own URLconf)."""

from __future__ import annotations

import django


def configure() -> None:
    """Configure Django for the tests, unless a module did already."""
    # Imported here: doctest collection would touch the lazy settings object at module level.
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only-django-secret-key-that-is-long-enough-for-checks",
        ALLOWED_HOSTS=["testserver"],
        # Each test module overrides it (override_settings) with URL patterns of its own.
        ROOT_URLCONF="tests.integrations.test_django_ext",
        MIDDLEWARE=[
            "django.middleware.csrf.CsrfViewMiddleware",
            "atlassian_jwt.integrations.django_ext.AtlassianJWTMiddleware",
        ],
        INSTALLED_APPS=[],
        USE_TZ=True,
        ATLASSIAN_JWT_AUTHENTICATOR="tests.integrations.web_helpers.DJANGO_AUTHENTICATOR",
    )
    django.setup()

"""What the testing kit needs beyond the core, and the one message that says how to get it."""

from __future__ import annotations

from types import ModuleType

import jwt.algorithms

from .._extras import install_hint, missing_extra

__all__ = ["INSTALL_HINT", "import_time_machine", "require_cryptography"]

#: How to install everything the kit uses, the ``testing`` extra: ``cryptography`` for the RSA
#: keys of the fake key server and JWKS, ``time-machine`` for the clock, ``pytest`` for the
#: plugin (named one by one, as the installed distribution lists them).
INSTALL_HINT = install_hint("testing", "cryptography", "time-machine", "pytest")


def require_cryptography(what: str) -> None:
    """Raise a clear :class:`ImportError` if ``cryptography`` (for RSA keys) is missing.

    :param what: what needs it, for the message.
    :raises ImportError: naming :data:`INSTALL_HINT`.
    """
    # Read at call time, as atlassian_jwt.keys does, so that the answer follows PyJWT's own.
    if not jwt.algorithms.has_crypto:
        raise missing_extra(what, ("testing", "cryptography"))


def import_time_machine() -> ModuleType:
    """Return the ``time_machine`` module, imported on first use.

    :raises ImportError: naming :data:`INSTALL_HINT`, if it is not installed.
    """
    try:
        import time_machine
    except ImportError:
        raise missing_extra("The testing kit's clock", ("testing", "time-machine")) from None
    return time_machine

"""Optional adapters between atlassian_jwt and other libraries, each behind its own extra.

Import the adapter you use (``atlassian_jwt.integrations.flask_ext``, ``requests_auth``, ...):
this package itself exports nothing, so that importing it needs no extra.
"""

from __future__ import annotations

__all__: list[str] = []

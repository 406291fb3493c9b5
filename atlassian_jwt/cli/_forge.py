"""What ``decode``, ``verify`` and ``explain`` print of a Forge invocation: its context and, given
the request's headers, when its ``x-forge-oauth-*`` tokens expire (never the tokens).

The facts are the library's (:func:`atlassian_jwt.explain.forge_facts`); this module only lays
them out. Every line goes through ``Output``, which escapes what the token's sender wrote.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..exceptions import ForgeContextMissingError
from ..explain import ForgeFacts
from ..forge import FORGE_REQUIRED_CONTEXT

# What the reader is told for a context value the token does not have.
_MISSING = f"missing: verify_request refuses the call ({ForgeContextMissingError.code})"
_NO_USER = "none: no user acts (an event, a scheduled trigger or a call by the app)"
_NO_HEADERS = (
    "not known: give the request's headers (--headers-file) to see when the "
    "x-forge-oauth-* tokens expire"
)


def forge_lines(facts: ForgeFacts, *, headers_given: bool) -> list[str]:
    """The ``forge:`` section of the text output."""
    context = facts.context
    required = dict(
        zip(FORGE_REQUIRED_CONTEXT, (context.app_id, context.installation_id, context.api_base_url))
    )
    environment = _joined(context.environment_type, context.environment_id)
    rows = [
        ("app", required["app.id"] or _MISSING),
        ("installation", required["app.installationId"] or _MISSING),
        ("environment", environment or "not named"),
        ("module", _joined(context.module_key, context.module_type) or "not named"),
        ("principal", context.account_id or _NO_USER),
        ("API base URL", required["app.apiBaseUrl"] or _MISSING),
        ("site", _joined(context.cloud_id, context.site_url) or "not named"),
    ]
    if headers_given:
        rows += [(token.header, token.detail) for token in facts.tokens]
    else:
        rows.append(("x-forge-oauth-*", _NO_HEADERS))
    width = max(len(label) for label, _ in rows) + 1
    return ["forge:"] + [f"  {label + ':':<{width}} {value}" for label, value in rows]


def forge_json(facts: ForgeFacts, *, headers_given: bool) -> dict[str, Any]:
    """The ``forge`` member of the JSON output: ``tokens`` is ``null`` without the headers."""
    return {
        "context": asdict(facts.context),
        "tokens": [asdict(token) for token in facts.tokens] if headers_given else None,
    }


def _joined(first: str | None, second: str | None) -> str | None:
    """``first (second)``, or whichever of them there is."""
    if first and second:
        return f"{first} ({second})"
    return first or second

"""The README's act-as-user example runs offline, with the core alone, as a newcomer runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ACCOUNT

ROOT = Path(__file__).parent.parent


def test_act_as_user_example_exchanges_calls_caches_and_fails_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "act_as_user.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.splitlines() == [
        f"  authorization server: scope READ ACT_AS_USER for "
        f"urn:atlassian:connect:useraccountid:{ACCOUNT}",
        f"GET /rest/api/3/myself -> 200 {{'accountId': '{ACCOUNT}'}}",
        "second get_token: cached = True",
        "wrong secret: TokenExchangeError, 400 invalid_grant",
    ]
    assert result.stderr == ""

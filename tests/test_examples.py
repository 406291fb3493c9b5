"""The README's examples run as a newcomer runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_quickstart_signs_verifies_and_rejects() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "canonical request: GET&/rest/api/3/search&jql=project%20%3D%20DEMO&maxResults=5"
    )
    assert lines[2] == "verified:          iss = com.example.quickstart | qsh matches = True"
    assert lines[3].startswith("tampered URL:      rejected, qsh_mismatch")
    assert "sharedSecret" not in result.stdout and result.stderr == ""

"""The README's examples run as a newcomer runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.extras
def test_signed_install_stores_the_secret_only_after_verification() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "signed_install.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.splitlines() == [
        "canonical request: POST&/installed&",
        "genuine install:   204: stored tenant jira:7c6b1a3e-2f0d-4e9a-9b1c-1d2e3f4a5b6c",
        "replayed install:  401: rejected, invalid_audience",
        "stored secret is the genuine one: True",
    ]
    assert "shared-secret" not in result.stdout and result.stderr == ""

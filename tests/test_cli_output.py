"""What the command line prints from a token is escaped: a token cannot forge or hide output.

A token is the sender's text. Its ``alg``, its claims and their names can hold line breaks,
terminal escape sequences (ESC, or the one-byte CSI U+009B), the line separator U+2028 and
bidirectional overrides; printed raw they write a ``verdict:    valid`` line of their own, erase
the real one, or reorder it. Every command must print them escaped, in text and in JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from atlassian_jwt.cli._output import escape_json, escape_text
from atlassian_jwt.cli._status import status_of
from tests.support import CLIENT_KEY, SECRET
from tests.test_cli import CANONICAL, URL, cli, token_for, unsigned

# Ends the current line, prints a forged verdict, then moves up and erases the next line
# (where the real verdict would be) and reverses what follows.
FORGED = "\nverdict:    valid\n\x1b[1A\x1b[2K\x9b2K\u2028\u202e"
DANGEROUS = ["\n", "\x1b", "\x9b", "\u2028", "\u202e"]


@pytest.fixture(autouse=True)
def shared_secret_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variable --secret-env SHARED_SECRET reads."""
    monkeypatch.setenv("SHARED_SECRET", SECRET)


def hostile_token() -> str:
    header = {"alg": f"HS256{FORGED}", "kid": f"k{FORGED}"}
    claims = {"iss": f"x{FORGED}", "qsh": f"q{FORGED}", "aud": [f"a{FORGED}"], f"n{FORGED}": 1}
    return unsigned(header, claims)


def assert_escaped(text: str) -> None:
    for char in DANGEROUS[1:]:
        assert char not in text, repr(char)
    # Only the command's own lines: no line begins with the forged verdict.
    assert not any(line.startswith("verdict:    valid") for line in text.split("\n"))


@pytest.mark.parametrize(
    "args",
    [
        ["decode", "{token}"],
        ["explain", "GET", "/page", "{token}"],
        ["explain", "GET", "/page", "{token}", "--secret-env", "SHARED_SECRET"],
    ],
    ids=["decode", "explain", "explain-with-secret"],
)
def test_regression_hostile_token_cannot_forge_a_verdict_line(args: list[str]) -> None:
    token = hostile_token()
    status, out, err = cli(*[token if arg == "{token}" else arg for arg in args])
    assert_escaped(out + err)
    if args[0] == "explain":
        verdicts = [line for line in out.split("\n") if line.startswith("verdict:")]
        assert verdicts == [verdicts[0]] and verdicts[0].startswith("verdict:    rejected")
        assert status != 0
    if args[0] == "decode":
        assert "HS256\\nverdict:    valid" in out  # shown, escaped (the JSON header)
        assert "  n\\x0averdict:" in out  # a claim's name, escaped too


def test_regression_hostile_claims_of_a_valid_token_cannot_forge_lines() -> None:
    # Correctly signed, with any issuer accepted: verify prints the iss. Control characters in
    # an unverified iss are refused before any secret is looked up (issue 16.5); the line
    # separator and bidirectional overrides get through to the output and must be escaped.
    token = token_for(CANONICAL, iss="tenant\u2028verdict:    valid\u202e")
    status, out, err = cli("verify", "--method", "GET", "--url", URL, "--secret-env",
                           "SHARED_SECRET", token)  # fmt: skip
    assert status == 0
    [line] = out.split("\n")[:-1]
    assert line.startswith("valid: request token") and "tenant\\u2028verdict:" in line
    assert_escaped(out + err)


def test_regression_control_characters_in_a_signed_iss_are_refused_and_escaped() -> None:
    token = token_for(CANONICAL, iss=f"tenant{FORGED}")
    status, out, err = cli("verify", "--method", "GET", "--url", URL, "--secret-env",
                           "SHARED_SECRET", token)  # fmt: skip
    assert status == status_of("unknown_issuer")
    assert not any(line.startswith("verdict:") for line in (out + err).split("\n"))
    assert_escaped(out + err)


@pytest.mark.parametrize(
    "args",
    [
        ["decode", "--json", "{token}"],
        ["explain", "GET", "/page", "{token}", "--json"],
    ],
    ids=["decode", "explain"],
)
def test_regression_json_output_escapes_what_json_leaves_raw(args: list[str]) -> None:
    # json.dumps(ensure_ascii=False) escapes C0 controls but leaves C1, U+2028 and the bidi
    # overrides raw; the JSON still means the same.
    token = hostile_token()
    status, out, err = cli(*[token if arg == "{token}" else arg for arg in args])
    assert_escaped(out + err)
    result: dict[str, Any] = json.loads(out)
    if args[0] == "decode":
        assert result["header"]["alg"] == f"HS256{FORGED}"
        assert result["claims"]["iss"] == f"x{FORGED}"
    else:
        assert result["kind_description"] == f"unknown kind (HS256{FORGED}, qsh is neither a " \
            "request hash nor context-qsh)"


def test_errors_of_the_argument_parser_are_escaped_too() -> None:
    with pytest.raises(SystemExit):
        cli("verify", "--key-server", f"prod{FORGED}")


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain text, é, 宮", "plain text, é, 宮"),
        ("a\nb\tc", "a\\x0ab\\x09c"),
        ("\x1b[31m\x7f\x9b", "\\x1b[31m\\x7f\\x9b"),
        ("\u2028\u2029\u202e\u2066\ufeff", "\\u2028\\u2029\\u202e\\u2066\\ufeff"),
        ("\ud800", "\\ud800"),
        ("\U000e0041", "\\U000e0041"),
    ],
)
def test_escape_text(text: str, escaped: str) -> None:
    assert escape_text(text) == escaped


@pytest.mark.parametrize(
    "value", [FORGED, "\U000e0041 tag", "\ud800 lone", {"k\u2028": ["\x85", 1]}, CLIENT_KEY]
)
def test_escape_json_keeps_the_meaning(value: Any) -> None:
    text = escape_json(json.dumps(value, indent=2, ensure_ascii=False))
    assert json.loads(text) == value
    assert all(char.isprintable() or char == "\n" for char in text)

"""``decode``, ``verify`` and ``explain`` on a Forge call: the FIT's context, and given the
request's headers, when its ``x-forge-oauth-*`` tokens expire; never a token.

Forge is the testing kit's: a key set on 127.0.0.1 (:class:`FakeForgeJWKS`) invoking the app
from a stand-in Jira (:class:`ProductStandIn`), whose OAuth tokens it issues.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from atlassian_jwt.cli import EXIT_STATUSES, main
from atlassian_jwt.testing import FakeForgeJWKS, FrozenClock, ProductStandIn

pytestmark = pytest.mark.extras

STATUS = {code: status for status, code, _ in EXIT_STATUSES if code}
ACCOUNT_ID = "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077"
INSTALLATION = "ari:cloud:ecosystem::installation/5d5f3c1a-8d1e-4c8e-9a57-2f3c1a9d8e01"
# An opaque bearer token, not shaped like a JWT: the output filter's JWT pattern would not
# catch it, so only the command's own care keeps it out.
OPAQUE_TOKEN = "opaque-forge-oauth-token-9f8e7d6c5b4a39281706"


@pytest.fixture
def jira() -> Iterator[ProductStandIn]:
    with ProductStandIn(installation_id=INSTALLATION) as site:
        yield site


@pytest.fixture
def forge(jira: ProductStandIn) -> Iterator[FakeForgeJWKS]:
    with FakeForgeJWKS(product=jira) as fake:
        yield fake


def cli(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """Call the function the console script calls: ``(status, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def header_block(headers: Mapping[str, str], request_line: str = "POST /forge/summary") -> str:
    """The request's headers as a request dump shows them, a body after them."""
    lines = [f"{request_line} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items())]
    return "\n".join(lines) + '\n\n{"issueKey": "SP-1"}\n'


def headers_file(tmp_path: Path, headers: Mapping[str, str]) -> str:
    path = tmp_path / "headers.txt"
    path.write_text(header_block(headers), encoding="utf-8")
    return str(path)


def secrets_of(headers: Mapping[str, str]) -> list[str]:
    """The credentials of a Forge call: the FIT and the OAuth tokens, and their signatures."""
    values = [headers["authorization"].split()[1]]
    values += [
        headers[name] for name in ("x-forge-oauth-system", "x-forge-oauth-user") if name in headers
    ]
    return values + [value.rpartition(".")[2] for value in values if "." in value]


def assert_no_credential(output: str, headers: Mapping[str, str]) -> None:
    for value in secrets_of(headers):
        assert value not in output


def forge_section(out: str) -> dict[str, str]:
    """The ``forge:`` section of a command's text output, by label."""
    section = out.split("\nforge:\n", 1)[1].splitlines()
    rows = {}
    for line in section:
        if not line.startswith("  "):
            break
        label, _, value = line.strip().partition(": ")
        rows[label] = value.strip()
    return rows


def test_decode_shows_the_context_and_when_the_tokens_expire(
    forge: FakeForgeJWKS, jira: ProductStandIn, tmp_path: Path
) -> None:
    headers = forge.invocation_headers(account_id=ACCOUNT_ID, user_token=True)
    status, out, err = cli("decode", "--headers-file", headers_file(tmp_path, headers))
    assert (status, err) == (0, "")
    assert out.startswith("UNVERIFIED")
    rows = forge_section(out)
    assert rows["app"] == forge.app_ari
    assert rows["installation"] == INSTALLATION
    assert rows["environment"] == f"DEVELOPMENT ({forge.environment_id})"
    assert rows["module"] == "remote-endpoint (core:endpoint)"
    assert rows["principal"] == ACCOUNT_ID
    assert rows["API base URL"] == jira.forge_api_base_url
    assert rows["site"] == jira.cloud_id
    for name in ("x-forge-oauth-system", "x-forge-oauth-user"):
        assert rows[name].startswith("expires in 15 min (")
    assert_no_credential(out, headers)


def test_decode_json_has_the_forge_facts(forge: FakeForgeJWKS, tmp_path: Path) -> None:
    headers = forge.invocation_headers()  # an app call: the system token only, no user
    status, out, _ = cli("decode", "--json", "--headers-file", headers_file(tmp_path, headers))
    result = json.loads(out)
    assert status == 0 and result["verified"] is False
    context = result["forge"]["context"]
    assert (context["installation_id"], context["account_id"]) == (INSTALLATION, None)
    system, user = result["forge"]["tokens"]
    assert (system["header"], system["present"], system["sendable"]) == (
        "x-forge-oauth-system",
        True,
        True,
    )
    assert 14 * 60 < system["expiry"]["seconds_from_now"] <= 15 * 60
    assert (user["header"], user["present"], user["expiry"]) == ("x-forge-oauth-user", False, None)
    assert "appUserToken" in user["detail"]
    assert_no_credential(out, headers)


def test_decode_without_headers_shows_the_context_and_says_what_it_cannot(
    forge: FakeForgeJWKS,
) -> None:
    token = forge.invocation_headers()["authorization"]
    status, out, _ = cli("decode", token)
    assert status == 0
    rows = forge_section(out)
    assert rows["installation"] == INSTALLATION
    assert rows["principal"].startswith("none: no user acts")
    assert "--headers-file" in rows["x-forge-oauth-*"]
    status, out, _ = cli("decode", "--json", token)
    assert json.loads(out)["forge"]["tokens"] is None


def test_decode_of_a_connect_token_has_no_forge_section(jira: ProductStandIn) -> None:
    from atlassian_jwt.testing import sign_product_request

    token = sign_product_request("GET", "/page", jira.tenant)
    status, out, _ = cli("decode", token)
    assert status == 0 and "forge:" not in out
    assert "forge" not in json.loads(cli("decode", "--json", token)[1])


def test_a_missing_context_is_named_as_verify_request_would_refuse_it(
    forge: FakeForgeJWKS,
) -> None:
    token = forge.sign_invocation(app_claims={"installationId": None, "apiBaseUrl": None})
    status, out, _ = cli("decode", token)
    rows = forge_section(out)
    assert status == 0
    assert rows["installation"] == rows["API base URL"]
    assert "forge_context_missing" in rows["installation"]


def test_the_token_may_come_from_the_headers_the_argument_wins(
    forge: FakeForgeJWKS, tmp_path: Path
) -> None:
    from_file = forge.invocation_headers(account_id=ACCOUNT_ID)
    argument = forge.sign_invocation(account_id="557058:someone-else")
    path = headers_file(tmp_path, from_file)
    assert forge_section(cli("decode", "--headers-file", path)[1])["principal"] == ACCOUNT_ID
    rows = forge_section(cli("decode", argument, "--headers-file", path)[1])
    assert rows["principal"] == "557058:someone-else"
    # Headers without an Authorization, and no token: nothing to decode.
    status, _, err = cli("decode", "--header", "x-b3-traceid: 80f198ee56343ba864fe8b2a57d3eff7")
    assert status == STATUS["token_missing"]
    assert "the headers have no Authorization" in err


def test_an_oauth_token_is_never_a_command_line_argument(forge: FakeForgeJWKS) -> None:
    headers = forge.invocation_headers()
    for name in ("x-forge-oauth-system", "X-Forge-OAuth-User"):
        status, out, err = cli(
            "decode", headers["authorization"], "--header", f"{name}: {OPAQUE_TOKEN}"
        )
        assert status == 1
        assert "--header-env" in err and "--headers-file" in err
        assert OPAQUE_TOKEN not in out + err


def test_oauth_tokens_from_the_environment(
    forge: FakeForgeJWKS, jira: ProductStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORGE_SYSTEM_TOKEN", OPAQUE_TOKEN)
    monkeypatch.setenv("FORGE_USER_TOKEN", jira.issue_forge_token("user", account_id=ACCOUNT_ID))
    fit = forge.invocation_headers(account_id=ACCOUNT_ID, app_token=False)["authorization"]
    status, out, err = cli(
        "decode",
        fit,
        "--header-env",
        "x-forge-oauth-system=FORGE_SYSTEM_TOKEN",
        "--header-env",
        "x-forge-oauth-user=FORGE_USER_TOKEN",
        "--json",
    )
    assert status == 0, err
    system, user = json.loads(out)["forge"]["tokens"]
    # Not a JWT: its expiry cannot be read, and the product will say whether it works.
    assert (system["present"], system["expiry"], system["sendable"]) == (True, None, True)
    assert user["expiry"]["relative"] == "expires in 15 min"
    assert OPAQUE_TOKEN not in out + err and os.environ["FORGE_USER_TOKEN"] not in out

    status, _, err = cli("decode", fit, "--header-env", "x-forge-oauth-system=NOT_SET_ANYWHERE")
    assert status == 1 and "NOT_SET_ANYWHERE is not set" in err


def test_a_token_that_expires_soon_is_one_forge_auth_will_not_send(
    forge: FakeForgeJWKS, jira: ProductStandIn, tmp_path: Path
) -> None:
    with FrozenClock():  # read at the very time it is made
        headers = forge.invocation_headers(app_token=jira.issue_forge_token(lifetime=10))
        status, out, _ = cli("decode", "--headers-file", headers_file(tmp_path, headers))
    detail = forge_section(out)["x-forge-oauth-system"]
    assert detail.startswith("expires in 10 s (") and "ForgeAuth will not send it" in detail
    result = json.loads(
        cli("decode", "--json", "--headers-file", headers_file(tmp_path, headers))[1]
    )
    assert result["forge"]["tokens"][0]["sendable"] is False


def test_the_headers_file_is_read_as_a_request_dump_shows_it(forge: FakeForgeJWKS) -> None:
    headers = forge.invocation_headers(account_id=ACCOUNT_ID, user_token=True)
    # HTTP/2 pseudo-headers (a browser's copy), a folded line, CRLF line ends, a body.
    block = (
        ":method: POST\r\n:path: /forge/summary\r\n"
        + "".join(
            f"{name}: {value}\r\n" for name, value in headers.items() if name != "x-b3-spanid"
        )
        + "X-Folded: first\r\n  second\r\n"
        + "\r\nx-forge-oauth-user: the body, not a header\r\n"
    )
    status, out, err = cli("decode", "--json", "--headers-file", "-", stdin=block)
    assert status == 0, err
    tokens = json.loads(out)["forge"]["tokens"]
    assert [token["present"] for token in tokens] == [True, True]
    assert_no_credential(out, headers)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "authorization: Bearer x\nno header, a token: eyJhbGciOiJSUzI1NiJ9.e30.c2ln\n",
            "line 2 of the headers file is not a header",
        ),
        ("x-b3-traceid: 1\nX-B3-TraceId: 2\n", "the header x-b3-traceid is given twice"),
    ],
)
def test_a_bad_headers_file_is_named_without_its_content(block: str, message: str) -> None:
    status, out, err = cli("decode", "--headers-file", "-", stdin=block)
    assert (status, out) == (1, "")
    assert message in err and "eyJ" not in err and "token" not in err.split(message)[1]


def test_the_headers_and_the_token_cannot_both_be_standard_input() -> None:
    with pytest.raises(SystemExit) as exited:
        cli("decode", "-", "--headers-file", "-")
    assert exited.value.code == 2


# verify: verify_request when the headers are given.


def verify_args(forge: FakeForgeJWKS) -> list[str]:
    return ["verify", "--forge-app-id", forge.app_id, "--jwks-url", forge.jwks_url]


def test_verify_with_headers_checks_the_remote_contract_and_shows_the_context(
    forge: FakeForgeJWKS, jira: ProductStandIn, tmp_path: Path
) -> None:
    headers = forge.invocation_headers(account_id=ACCOUNT_ID, user_token=True)
    status, out, err = cli(*verify_args(forge), "--headers-file", headers_file(tmp_path, headers))
    assert (status, err) == (0, "")
    assert out.startswith("valid: Forge invocation token")
    rows = forge_section(out)
    assert (rows["installation"], rows["principal"]) == (INSTALLATION, ACCOUNT_ID)
    assert rows["x-forge-oauth-user"].startswith("expires in 15 min")
    assert_no_credential(out, headers)

    status, out, _ = cli(
        *verify_args(forge), "--json", "--headers-file", headers_file(tmp_path, headers)
    )
    result = json.loads(out)
    assert result["valid"] is True
    assert result["forge"]["context"]["api_base_url"] == jira.forge_api_base_url
    assert [token["sendable"] for token in result["forge"]["tokens"]] == [True, True]
    assert_no_credential(out, headers)


@pytest.mark.parametrize(
    ("options", "code"),
    [
        ({"app_claims": {"installationId": None}}, "forge_context_missing"),
        ({"api_base_url": "http://api.example.com/ex/jira/1"}, "forge_context_invalid"),
    ],
)
def test_verify_with_headers_refuses_what_verify_request_refuses(
    forge: FakeForgeJWKS, tmp_path: Path, options: dict[str, Any], code: str
) -> None:
    headers = forge.invocation_headers(**options)
    status, out, err = cli(*verify_args(forge), "--headers-file", headers_file(tmp_path, headers))
    assert status == STATUS[code]
    assert err.startswith(f"rejected, {code} (exit status {STATUS[code]}): ")
    assert_no_credential(out + err, headers)
    # Without the headers, verify() runs: it accepts what it always accepted.
    assert cli(*verify_args(forge), headers["authorization"])[0] == 0


def test_verify_with_headers_refuses_an_oauth_header_that_is_no_bearer_token(
    forge: FakeForgeJWKS, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORGE_SYSTEM_TOKEN", "secret-looking value\r\nX-Injected: 1")
    fit = forge.invocation_headers(app_token=False)["authorization"]
    args = [*verify_args(forge), fit, "--header-env", "x-forge-oauth-system=FORGE_SYSTEM_TOKEN"]
    status, out, err = cli(*args)
    assert status == STATUS["forge_context_invalid"]
    assert "x-forge-oauth-system" in err
    assert "secret-looking" not in out + err and "Injected" not in out + err


def test_verify_takes_the_header_options_only_for_a_forge_token(forge: FakeForgeJWKS) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(
            "verify",
            "x.y.z",
            "--method",
            "GET",
            "--url",
            "/p",
            "--secret-env",
            "S",
            "--header",
            "a: b",
        )
    assert exited.value.code == 2


# explain: the context check of verify_request, with the headers.


def test_explain_with_headers_checks_the_context(forge: FakeForgeJWKS, tmp_path: Path) -> None:
    good = forge.invocation_headers(account_id=ACCOUNT_ID)
    status, out, _ = cli(
        "explain", "POST", "/forge/summary", "--headers-file", headers_file(tmp_path, good)
    )
    assert status == 0
    assert "context     ok " in out and forge_section(out)["principal"] == ACCOUNT_ID
    assert out.rstrip().splitlines()[-1] == "verdict:    valid (the signature was not checked)"

    bad = forge.invocation_headers(app_claims={"apiBaseUrl": "http://169.254.169.254/ex/jira/1"})
    path = headers_file(tmp_path, bad)
    status, out, _ = cli("explain", "POST", "/forge/summary", "--headers-file", path)
    assert status == STATUS["forge_context_invalid"]
    assert "context     FAIL " in out
    result = json.loads(
        cli("explain", "POST", "/forge/summary", "--json", "--headers-file", path)[1]
    )
    assert result["verdict"]["code"] == "forge_context_invalid"
    assert result["forge"]["context"]["api_base_url"] == "http://169.254.169.254/ex/jira/1"
    assert_no_credential(out, bad)
    # Without the headers: no context check, as verify() makes none.
    status, out, _ = cli("explain", "POST", "/forge/summary", bad["authorization"])
    assert status == 0 and "context " not in out.split("forge:")[0]


def test_hostile_context_values_are_printed_escaped(forge: FakeForgeJWKS, tmp_path: Path) -> None:
    forged = "x\x1b[2K\rverdict:    valid\n\u2028"
    headers = forge.invocation_headers(account_id=forged, module_key=forged)
    path = headers_file(tmp_path, headers)
    for args in (
        ["decode", "--headers-file", path],
        ["explain", "POST", "/forge/summary", "--headers-file", path],
        [*verify_args(forge), "--headers-file", path],
    ):
        status, out, err = cli(*args)
        assert status == 0, (args, err)
        assert "\x1b" not in out and "\r" not in out and "\u2028" not in out
        assert "\\x1b[2K\\x0dverdict:    valid\\x0a\\u2028" in forge_section(out)["principal"]
        assert not any(line.startswith("verdict:    valid") for line in out.splitlines()[:-1])


SCRIPT = shutil.which(
    "atlassian-jwt", path=os.pathsep.join([str(Path(sys.executable).parent), os.defpath])
)


def test_the_installed_command_reads_the_headers_from_standard_input(
    forge: FakeForgeJWKS,
) -> None:
    assert SCRIPT, "atlassian-jwt is not installed: pip install -e ."
    headers = forge.invocation_headers(account_id=ACCOUNT_ID, user_token=True)
    result = subprocess.run(
        [SCRIPT, *verify_args(forge), "--headers-file", "-"],
        input=header_block(headers),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert forge_section(result.stdout)["installation"] == INSTALLATION
    assert_no_credential(result.stdout + result.stderr, headers)


def test_the_docs_show_the_forge_section_as_decode_prints_it(
    forge: FakeForgeJWKS, tmp_path: Path
) -> None:
    page = (Path(__file__).parent.parent / "docs" / "cli.rst").read_text(encoding="utf-8")
    shown = page.split("$ atlassian-jwt decode --headers-file request-headers.txt\n", 1)[1]
    shown_rows = forge_section("\n" + shown.split("\n\n", 1)[0].replace("\n    ", "\n"))
    headers = forge.invocation_headers(account_id=ACCOUNT_ID)
    rows = forge_section(cli("decode", "--headers-file", headers_file(tmp_path, headers))[1])
    assert list(shown_rows) == list(rows)
    assert shown_rows["x-forge-oauth-user"] == rows["x-forge-oauth-user"]

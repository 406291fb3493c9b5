"""The ``atlassian-jwt`` command line, run as installed: every command and every exit status.

Each subprocess costs a fraction of a second, so the installed script is run once per command
and once per exit status; the larger matrices (Atlassian's vectors, every ``explain`` mistake)
call :func:`atlassian_jwt.cli.main`, the function the console script calls, in-process.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from atlassian_jwt import exceptions as exc
from atlassian_jwt.cli import COMMANDS, EXIT_STATUSES, build_parser, exit_status, main
from atlassian_jwt.cli._command import Command
from atlassian_jwt.diagnose import diagnose_qsh
from atlassian_jwt.url_utils import canonicalize_request, hash_url, qsh_of
from tests.support import APP_KEY, CLIENT_KEY, OFFICIAL, SECRET

ROOT = Path(__file__).parent.parent
# The script pip installed next to this interpreter (the virtualenv's bin), else on PATH.
SCRIPT = shutil.which(
    "atlassian-jwt", path=os.pathsep.join([str(Path(sys.executable).parent), os.defpath])
) or shutil.which("atlassian-jwt")
ENV = {**os.environ, "SHARED_SECRET": SECRET, "PYTHONWARNINGS": "error"}
STATUS = {code: status for status, code, _ in EXIT_STATUSES if code}
WIKI = "https://example.atlassian.net/wiki"


@pytest.fixture(autouse=True)
def shared_secret_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The variable --secret-env SHARED_SECRET reads, for in-process runs too."""
    monkeypatch.setenv("SHARED_SECRET", SECRET)


def run(
    *args: str | bytes, stdin: str = "", module: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``atlassian-jwt`` (or ``python -m atlassian_jwt``) as a user does."""
    assert SCRIPT, "atlassian-jwt is not installed: pip install -e ."
    command: list[str | bytes] = [sys.executable, "-m", "atlassian_jwt"] if module else [SCRIPT]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
        check=False,
    )


def cli(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """Call the function the console script calls: ``(status, stdout, stderr)``."""
    out, err = io.StringIO(), io.StringIO()
    status = main(list(args), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def token_for(canonical: str | None = None, *, secret: str = SECRET, **claims: Any) -> str:
    """An HS256 token whose qsh is the hash of ``canonical``, with any claims (even odd ones)."""
    now = int(time.time())
    payload: dict[str, Any] = {"iss": CLIENT_KEY, "iat": now - 60, "exp": now + 120}
    if canonical is not None:
        payload["qsh"] = hashlib.sha256(canonical.encode()).hexdigest()
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    algorithm = payload.pop("alg", "HS256")
    return jwt.PyJWS().encode(json.dumps(payload).encode(), secret, algorithm=algorithm)


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token with any header and a dummy signature: enough for decode, which checks nothing."""

    def segment(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{segment(header)}.{segment(claims)}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk"


def assert_nothing_leaked(text: str, *tokens: str) -> None:
    assert SECRET not in text
    for token in tokens:
        assert token not in text
        signature = token.rpartition(".")[2]
        assert len(signature) < 8 or signature not in text


# Help, version and python -m.


def test_help_shows_examples_and_every_exit_status() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout
    assert "atlassian-jwt qsh GET" in result.stdout
    for status, code, meaning in EXIT_STATUSES:
        assert f"{status:>3}  {(code or ''):<22}{meaning}" in result.stdout


def declared_statuses(command: Command) -> list[int]:
    """The exit statuses a command says it can return, in the table's order."""
    return [
        status
        for status, code, _ in EXIT_STATUSES
        if code in command.codes or (code is None and (status != 1 or command.reads_files))
    ]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.name)
def test_each_command_has_help_with_an_example_and_only_its_exit_statuses(
    command: Command, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command.name, "--help"])
    assert exited.value.code == 0
    help_text = capsys.readouterr().out
    assert f"example:\n  atlassian-jwt {command.name}" in help_text or "curl" in help_text
    assert "--json" in help_text
    table = help_text.split("exit status:\n", 1)[1]
    listed = [int(line.split()[0]) for line in table.splitlines() if line.strip()]
    assert listed == declared_statuses(command)
    # qsh, decode and sign never compare a qsh with a request.
    assert ("23  qsh_mismatch" in help_text) is (command.name in ("verify", "explain"))


def test_python_m_runs_the_same_command() -> None:
    result = run("qsh", "get", "/rest/api/3/project/recent", "--json", module=True)
    assert result.returncode == 0
    output = json.loads(result.stdout)
    assert output["canonical_request"] == "GET&/rest/api/3/project/recent&"
    assert output["qsh"] == "4953376a4a620a337fab595409def4f695270777a9536fded98a4790b1ad3832"
    usage = run("--help", module=True).stdout
    assert usage.startswith("usage: python -m atlassian_jwt")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    import atlassian_jwt

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip().endswith(atlassian_jwt.__version__)


# qsh


def test_readme_first_command_prints_what_the_docs_show() -> None:
    readme = (ROOT / "README.rst").read_text(encoding="utf-8")
    first = next(line for line in readme.splitlines() if "-m pip install . && " in line)
    command = shlex.split(first.split(" && ")[-1])
    assert command[:2] == [".venv/bin/atlassian-jwt", "qsh"]
    result = run(*command[1:])
    assert result.returncode == 0, result.stderr
    # The command line's page shows this very call and its output, and so does getting started.
    cli_page = (ROOT / "docs" / "cli.rst").read_text(encoding="utf-8")
    shown = cli_page.split("$ atlassian-jwt qsh", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    started = (ROOT / "docs" / "getting-started.rst").read_text(encoding="utf-8")
    assert f"    $ {first.strip()}" in started.splitlines()
    started_shown = started.split(f"    $ {first.strip()}\n", 1)[1].split("\n\n", 1)[0]
    assert result.stdout.splitlines() == [line.strip() for line in started_shown.splitlines()]
    assert result.stdout.splitlines() == [line.strip() for line in shown]
    assert result.stdout.splitlines() == [
        "canonical request: GET&/rest/api/space&limit=10",
        f"qsh:               {hash_url('GET', '/rest/api/space?limit=10')}",
    ]


def test_the_docs_list_every_exit_status_with_its_meaning() -> None:
    cli_page = (ROOT / "docs" / "cli.rst").read_text(encoding="utf-8")
    table = cli_page.split("status  ``code``", 1)[1].split("\n\n", 1)[0]
    rows: list[list[Any]] = []
    for line in table.splitlines()[1:]:  # after the header's "meaning"
        if line[:1].isdigit():
            rows.append([int(line.split()[0]), line[8:35].strip().strip("`") or None, line[35:]])
        elif line.strip() and not line.startswith("="):
            rows[-1][2] += " " + line.strip()  # a meaning wrapped onto the next line
    assert [(status, code, meaning.strip()) for status, code, meaning in rows] == list(
        EXIT_STATUSES
    )


@pytest.mark.parametrize("vector", OFFICIAL["tests"], ids=lambda vector: vector["name"])
def test_qsh_of_every_official_vector(vector: dict[str, Any]) -> None:
    args = ["--json", "qsh", vector["method"], vector["url"]]
    if vector.get("baseUrl"):
        args += ["--base-url", vector["baseUrl"]]
    status, out, _ = cli(*args)
    assert status == 0
    result = json.loads(out)
    assert (result["canonical_request"], result["qsh"]) == (vector["canonical"], vector["qsh"])


def test_qsh_with_a_form_body() -> None:
    status, out, _ = cli("qsh", "POST", "/submit?a=1", "--body", "b=x+y&a=0", "--json")
    assert status == 0
    assert json.loads(out)["canonical_request"] == "POST&/submit&a=0,1&b=x%20y"


# decode


def test_decode_labels_the_claims_unverified_and_shows_times() -> None:
    now = int(time.time())
    token = token_for("GET&/page&", iat=now - 600, exp=now - 240, aud="one")
    result = run("decode", token)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("UNVERIFIED")
    assert "request token (HS256" in lines[1]
    exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 240))
    assert f"  exp: {now - 240}  ({exp}, expired 4 min ago)" in lines
    assert any(line.endswith("issued 10 min ago)") for line in lines)
    assert '  aud: ["one"]' in lines
    assert_nothing_leaked(result.stdout + result.stderr, token)


def test_decode_json_from_stdin() -> None:
    now = int(time.time())
    token = token_for("GET&/page&", exp=now + 120, nbf=now + 300, aud=["a", "b"])
    result = run("decode", "--json", "-", stdin=f"Authorization: JWT {token}\n")
    assert result.returncode == 0
    decoded = json.loads(result.stdout)
    assert decoded["verified"] is False and decoded["warning"].startswith("UNVERIFIED")
    assert decoded["kind"] == "request"
    assert decoded["header"] == {"alg": "HS256", "typ": "JWT"}
    assert decoded["claims"]["iss"] == CLIENT_KEY
    assert decoded["audience"] == ["a", "b"]
    assert decoded["times"]["exp"]["relative"] == "expires in 2 min"
    assert decoded["times"]["exp"]["utc"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 120)
    )
    assert decoded["times"]["nbf"]["relative"] == "not valid for another 5 min"
    assert "[redacted]" not in result.stdout
    assert_nothing_leaked(result.stdout, token)


QSH = "0" * 64


@pytest.mark.parametrize(
    ("header", "claims", "kind"),
    [
        ({"alg": "HS256", "typ": "JWT"}, {"iss": CLIENT_KEY, "qsh": QSH}, "request"),
        ({"alg": "HS256"}, {"iss": CLIENT_KEY, "qsh": "context-qsh"}, "context"),
        ({"alg": "RS256", "kid": "abc"}, {"iss": CLIENT_KEY, "qsh": QSH}, "install"),
        (
            {"alg": "RS256", "kid": "forge-key"},
            {"iss": "forge/invocation-token", "aud": "ari:cloud:ecosystem::app/1"},
            "forge",
        ),
        ({"alg": "none"}, {"iss": CLIENT_KEY, "qsh": QSH}, "unknown"),
        ({"alg": "HS256"}, {"iss": CLIENT_KEY, "qsh": "not-a-hash"}, "unknown"),
        ({"alg": "RS256"}, {"iss": CLIENT_KEY}, "unknown"),
    ],
)
def test_decode_recognises_the_kind_of_token(
    header: dict[str, Any], claims: dict[str, Any], kind: str
) -> None:
    status, out, _ = cli("decode", "--json", unsigned(header, claims))
    assert status == 0
    assert json.loads(out)["kind"] == kind


def test_decode_shows_odd_times_without_failing() -> None:
    token = unsigned({"alg": "HS256"}, {"exp": "soon", "iat": 10**20, "aud": "x"})
    status, out, _ = cli("decode", token)
    assert status == 0
    assert '  exp: "soon"  (not a number)' in out
    assert f"  iat: {10**20}  (out of range)" in out


# verify: every exit status, through the installed script.


def write_tenant(path: Path, **changes: Any) -> str:
    tenant = {
        "key": APP_KEY,
        "clientKey": CLIENT_KEY,
        "sharedSecret": SECRET,
        "baseUrl": WIKI,
        "productType": "confluence",
        **changes,
    }
    path.write_text(json.dumps(tenant))
    return str(path)


URL = "https://app.example.com/page?b=2&a=1"
CANONICAL = "GET&/page&a=1&b=2"
NOW = int(time.time())
VERIFY = ["verify", "--method", "GET", "--url", URL, "--secret-env", "SHARED_SECRET"]
PEM_SECRET = (
    "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
)


@pytest.mark.parametrize(
    ("code", "token", "extra", "json_output"),
    [
        # A dict is the claims of a token made when the test runs (canonical: what it hashes).
        pytest.param(None, {}, [], False, id="valid"),
        pytest.param(None, {"aud": [CLIENT_KEY]}, [], True, id="valid-json"),
        pytest.param("token_missing", None, [], False, id="no-token"),
        pytest.param("token_malformed", "not-a-token", [], True, id="malformed"),
        pytest.param("token_too_large", "a." * 4100 + "b", [], False, id="too-large"),
        pytest.param("unknown_issuer", {}, ["--issuer", "someone-else"], True, id="issuer"),
        pytest.param("algorithm_not_allowed", {"alg": "HS512"}, [], False, id="HS512"),
        pytest.param(
            "invalid_signature", {"secret": "another-secret-" * 5}, [], True, id="signature"
        ),
        pytest.param("missing_claim", {"exp": None}, [], False, id="no-exp"),
        pytest.param("invalid_claim", {"iat": "yesterday"}, [], True, id="iat"),
        pytest.param("token_expired", {"exp": NOW - 3600}, [], False, id="expired"),
        pytest.param("token_not_yet_valid", {"iat": NOW + 3600}, [], True, id="future"),
        pytest.param("qsh_mismatch", {"canonical": "GET&/page&a=1"}, [], False, id="qsh"),
        pytest.param("qsh_mismatch", {}, ["--body", "c=3"], True, id="body"),
    ],
)
def test_verify_exit_status(
    code: str | None, token: str | dict[str, Any] | None, extra: list[str], json_output: bool
) -> None:
    if isinstance(token, dict):
        claims = dict(token)
        token = token_for(claims.pop("canonical", CANONICAL), **claims)
    args = [*VERIFY, *extra, *(["--json"] if json_output else []), *([token] if token else [])]
    result = run(*args)
    assert result.returncode == (STATUS[code] if code else 0), result.stderr
    assert_nothing_leaked(result.stdout + result.stderr, *([token] if token else []))
    if json_output:
        output = json.loads(result.stdout)
        assert output["valid"] is (code is None)
        if code:
            assert output["code"] == code and output["exit_status"] == STATUS[code]
        else:
            assert output["client_key"] == CLIENT_KEY and output["audience"] == [CLIENT_KEY]
            assert output["kind"] == "request"
            assert output["exp"]["relative"] == "expires in 2 min"
    elif code:
        assert result.stdout == ""
        [line] = result.stderr.splitlines()
        assert line.startswith(f"rejected, {code} (exit status {STATUS[code]}): ")
    else:
        assert result.stdout.startswith("valid: request token (HS256")
    if code == "qsh_mismatch" and not json_output:
        assert "we computed 'GET&/page&a=1&b=2'" in result.stderr
        assert "try explain" in result.stderr


def test_verify_other_exit_statuses(tmp_path: Path) -> None:
    token = token_for(CANONICAL)
    # 1: the secret cannot be read.
    result = run(*VERIFY[:5], "--secret-file", str(tmp_path / "missing"), token)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("error: cannot read the secret file")
    # 2: a secret given as a plain argument is a usage error, and is not echoed back.
    result = run(*VERIFY[:5], "--secret", SECRET, token)
    assert result.returncode == 2 and "unrecognized arguments" in result.stderr
    assert_nothing_leaked(result.stderr, token)
    # 13: a URL that is not valid text (bytes that are not UTF-8).
    result = run(
        "verify", "--method", "GET", "--url", b"/caf\xff", "--secret-env", "SHARED_SECRET", token
    )
    assert result.returncode == STATUS["request_malformed"]
    # 24: a "secret" PyJWT refuses as an HMAC key (a PEM public key).
    key_file = tmp_path / "pem"
    key_file.write_text(PEM_SECRET)
    result = run(*VERIFY[:5], "--secret-file", str(key_file), token)
    assert result.returncode == STATUS["rejected"]
    assert result.stderr.startswith("rejected, rejected (exit status 24): ")


def test_interrupted_while_reading_the_secret() -> None:
    class Interrupted(io.StringIO):
        def read(self, size: int | None = -1) -> str:
            raise KeyboardInterrupt

    out, err = io.StringIO(), io.StringIO()
    status = main([*VERIFY[:5], token_for(CANONICAL)], stdin=Interrupted(), stdout=out, stderr=err)
    assert (status, out.getvalue(), err.getvalue()) == (130, "", "")


def test_a_new_rejection_falls_back_to_its_base_class_status() -> None:
    class NewKindOfMalformed(exc.MalformedTokenError):
        code = "something_new"

    assert exit_status(NewKindOfMalformed("x")) == STATUS["token_malformed"]


def test_every_rejection_code_has_its_own_exit_status() -> None:
    codes = {
        cls.code
        for cls in vars(exc).values()
        if isinstance(cls, type) and issubclass(cls, (exc.TokenRejectedError, exc.KeyFetchError))
    }
    assert codes == set(STATUS)
    statuses = [status for status, _, _ in EXIT_STATUSES]
    assert len(statuses) == len(set(statuses))


# verify: where the token and the secret come from.


def test_verify_token_from_the_url_and_secret_from_stdin() -> None:
    token = token_for(CANONICAL)
    result = run("verify", "--method", "GET", "--url", f"{URL}&jwt={token}", stdin=SECRET + "\n")
    assert result.returncode == 0, result.stderr
    assert_nothing_leaked(result.stdout + result.stderr, token)


def test_verify_token_from_stdin_needs_another_secret_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = token_for(CANONICAL)
    assert cli(*VERIFY, "-", stdin=f"JWT {token}\n")[0] == 0
    with pytest.raises(SystemExit) as exited:
        main(["verify", "--method", "GET", "--url", URL, "-"])
    assert exited.value.code == 2
    assert "only one of the token, the secret and the body" in capsys.readouterr().err


def test_verify_with_the_tenant_file_accepts_only_its_issuers(tmp_path: Path) -> None:
    tenant = write_tenant(tmp_path / "tenant.json")
    base = ["verify", "--method", "GET", "--url", URL, "--tenant", tenant]
    assert cli(*base, token_for(CANONICAL))[0] == 0
    assert cli(*base, token_for(CANONICAL, iss=APP_KEY))[0] == 0
    assert cli(*base, token_for(CANONICAL, iss="other"))[0] == STATUS["unknown_issuer"]
    assert cli(*base, "--issuer", APP_KEY, token_for(CANONICAL))[0] == STATUS["unknown_issuer"]


def test_verify_context_tokens_only_when_allowed() -> None:
    token = token_for("ignored", qsh="context-qsh")
    assert cli(*VERIFY, token)[0] == STATUS["qsh_mismatch"]
    status, out, _ = cli(*VERIFY, "--allow-context-qsh", token)
    assert status == 0 and out.startswith("valid: context token")


@pytest.mark.filterwarnings("ignore:The HMAC key is:UserWarning")
def test_verify_atlassians_own_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    # Their exp is in 2014: verified with a leeway that reaches back that far.
    monkeypatch.setenv("OFFICIAL_SECRET", OFFICIAL["secret"])
    leeway = str(int(time.time()) - 1_300_000_000)
    # PyJWT 2.11 and later warn about the 18-byte secret; 2.10.1 does not.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jwt.encode({}, OFFICIAL["secret"], algorithm="HS256")
    pyjwt_warns = any("The HMAC key is" in str(warning.message) for warning in caught)
    for vector in OFFICIAL["tests"][:20]:
        args = ["verify", "--method", vector["method"], "--url", vector["url"]]
        status, out, err = cli(*args, "--secret-env", "OFFICIAL_SECRET", "--leeway", leeway)
        assert status == 0, (vector["name"], err)
        if pyjwt_warns:
            # The warning is reported in one line, not a traceback.
            assert err.startswith("warning: The HMAC key is 18 bytes long")
        else:
            assert err == ""


# sign


def test_sign_for_curl_and_verify_round_trip(tmp_path: Path) -> None:
    tenant = write_tenant(tmp_path / "tenant.json")
    url = f"{WIKI}/rest/api/space?limit=10"
    result = run("sign", "GET", url, "--tenant", tenant, "--header", "--sub", "557058:abc")
    assert result.returncode == 0, result.stderr
    header = result.stdout.strip()
    assert header.startswith("Authorization: JWT ")
    token = header.split()[-1]
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience=CLIENT_KEY)
    assert claims["iss"] == APP_KEY and claims["sub"] == "557058:abc"
    assert claims["qsh"] == hash_url("GET", "/rest/api/space?limit=10")
    assert claims["exp"] - claims["iat"] == 180
    assert SECRET not in result.stdout + result.stderr

    verify = ["verify", token, "--method", "GET", "--url", url, "--tenant", tenant]
    assert cli(*verify, "--base-url", WIKI)[0] == 0
    status, _, err = cli(*verify)
    assert status == STATUS["qsh_mismatch"]
    assert "'GET&/wiki/rest/api/space&limit=10'" in err


def test_sign_json(tmp_path: Path) -> None:
    tenant = write_tenant(tmp_path / "tenant.json")
    status, out, _ = cli(
        "sign", "POST", "/rest/api/content", "--tenant", tenant, "--json", "--lifetime", "60"
    )
    assert status == 0
    result = json.loads(out)
    assert result["authorization"] == f"JWT {result['token']}"
    assert result["canonical_request"] == "POST&/rest/api/content&"
    assert result["claims"]["exp"] - result["claims"]["iat"] == 60
    assert SECRET not in out


@pytest.mark.parametrize(
    "content",
    [
        f'{{"sharedSecret": "{SECRET}", "clientKey": ',  # not JSON, and holds the secret
        json.dumps({"sharedSecret": SECRET}),
        json.dumps([SECRET]),
        json.dumps({"sharedSecret": 42, "clientKey": CLIENT_KEY}),
    ],
)
def test_sign_refuses_a_bad_tenant_file_without_showing_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "tenant.json"
    path.write_text(content)
    status, out, err = cli("sign", "GET", "/x", "--tenant", str(path))
    assert (status, out) == (1, "")
    assert err.startswith(f"error: the tenant file {path}")
    assert SECRET not in err


def test_sign_exit_statuses(tmp_path: Path) -> None:
    result = run("sign", "GET", "/x", "--tenant", str(tmp_path / "none.json"))
    assert result.returncode == 1 and "cannot read the tenant file" in result.stderr
    result = run(
        "sign", "GET", "/x", "--tenant", write_tenant(tmp_path / "t.json"), "--lifetime", "0"
    )
    assert result.returncode == 2 and "positive number of seconds" in result.stderr


# explain: each mistake it names, signed into a token and recognised.

MISTAKES = [
    # (expected codes, method, url, base URL, body, the canonical request the signer hashed)
    (("base_path_not_removed",), "GET", f"{WIKI}/rest/api/space?limit=10", WIKI, None,
     "GET&/wiki/rest/api/space&limit=10"),
    (("base_path_not_removed",), "GET", "/rest/api/space?limit=10", WIKI, None,
     "GET&/wiki/rest/api/space&limit=10"),
    (("base_path_removed_twice",), "GET", f"{WIKI}/wiki/rest/api/content", WIKI, None,
     "GET&/rest/api/content&"),
    (("other_base_path",), "GET", "https://apps.example.com/my-app/macro?x=1", None, None,
     "GET&/macro&x=1"),
    (("other_base_path",), "GET", "https://apps.example.com/my-app/macro", "/my-app/macro", None,
     "GET&/macro&"),
    (("space_as_plus",), "GET", "/rest/api/3/search?jql=project = DEMO", None, None,
     "GET&/rest/api/3/search&jql=project+%3D+DEMO"),
    (("plus_as_literal",), "GET", "/search?q=a+b", None, None, "GET&/search&q=a%2Bb"),
    (("encoded_plus_as_space",), "GET", "/search?q=a%2Bb", None, None, "GET&/search&q=a%20b"),
    (("repeated_params_not_merged",), "GET", "/p?a=2&a=1&b=x", None, None,
     "GET&/p&a=1&a=2&b=x"),
    (("repeated_params_first_only",), "GET", "/p?a=2&a=1", None, None, "GET&/p&a=2"),
    (("repeated_params_last_only",), "GET", "/p?a=2&a=1&b=x", None, None, "GET&/p&a=1&b=x"),
    (("path_decoded",), "GET", "/page/my%20space", None, None, "GET&/page/my space&"),
    (("path_encoded",), "GET", "/page/my space/\u00fc", None, None,
     "GET&/page/my%20space/%C3%BC&"),
    (("path_encoded",), "GET", "/user/a:b", None, None, "GET&/user/a%3Ab&"),
    (("trailing_slash_kept",), "GET", "/rest/api/space/", None, None, "GET&/rest/api/space/&"),
    (("all_slashes_stripped",), "GET", "//a//", None, None, "GET&/a&"),
    (("jwt_param_included",), "GET", "/p?a=1&jwt=abc&z=2", None, None,
     "GET&/p&a=1&jwt=abc&z=2"),
    (("jwt_param_case",), "GET", "/p?JWT=x&a=1", None, None, "GET&/p&a=1"),
    (("wrong_method",), "POST", "/p?a=1", None, None, "GET&/p&a=1"),
    (("method_not_uppercased",), "GET", "/p", None, None, "get&/p&"),
    (("query_omitted",), "GET", "/p?a=1", None, None, "GET&/p&"),
    (("form_body_hashed",), "POST", "/p?a=1", None, "b=2", "POST&/p&a=1&b=2"),
    # Two mistakes at once: Confluence's /wiki kept, and the trailing slash too.
    (("base_path_not_removed", "trailing_slash_kept"), "GET", f"{WIKI}/rest/api/space/", WIKI,
     None, "GET&/wiki/rest/api/space/&"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("codes", "method", "url", "base_url", "body", "signed"),
    MISTAKES,
    ids=["+".join(mistake[0]) for mistake in MISTAKES],
)
def test_explain_names_the_mistake(
    codes: tuple[str, ...],
    method: str,
    url: str,
    base_url: str | None,
    body: str | None,
    signed: str,
) -> None:
    token = token_for(signed)
    args = ["explain", method, url, token, "--json"]
    args += ["--base-url", base_url] if base_url else []
    args += ["--body", body] if body else []
    status, out, _ = cli(*args)
    assert status == STATUS["qsh_mismatch"]
    result = json.loads(out)
    diagnoses = result["qsh"]["diagnoses"]
    assert [(tuple(d["codes"]), d["canonical_request"]) for d in diagnoses] == [(codes, signed)]
    assert result["qsh"]["token_qsh"] == hashlib.sha256(signed.encode()).hexdigest()
    assert result["verdict"] == {
        "valid": False,
        "code": "qsh_mismatch",
        "message": "the token's qsh is not the hash of this request's canonical request",
        "exit_status": STATUS["qsh_mismatch"],
    }


def test_explain_says_when_no_usual_mistake_fits() -> None:
    status, out, _ = cli("explain", "GET", "/page?a=1", token_for("GET&/elsewhere&b=2"))
    assert status == STATUS["qsh_mismatch"]
    assert "we compute    GET&/page&a=1\n" in out
    assert "none of the usual mistakes gives the token's qsh" in out


def test_explain_a_qsh_mismatch_as_installed() -> None:
    token = token_for("GET&/wiki/rest/api/space&limit=10")
    url = f"{WIKI}/rest/api/space?limit=10"
    result = run("explain", "GET", url, token, "--base-url", WIKI)
    assert result.returncode == STATUS["qsh_mismatch"]
    lines = result.stdout.splitlines()
    assert lines[0] == "UNVERIFIED: the signature has not been checked with a secret."
    assert "qsh         FAIL  the token's qsh is not the hash" in result.stdout
    assert "  we compute    GET&/rest/api/space&limit=10" in lines
    assert "  likely cause: the base path /wiki was not removed" in lines
    assert lines[-1].startswith("verdict:    rejected, qsh_mismatch (exit status 23)")
    assert_nothing_leaked(result.stdout + result.stderr, token)


def test_explain_with_the_secret_checks_the_signature_and_times() -> None:
    now = int(time.time())
    expired = token_for(CANONICAL, iat=now - 900, exp=now - 240)
    result = run("explain", "GET", f"{URL}&jwt={expired}", "--secret-env", "SHARED_SECRET")
    assert result.returncode == STATUS["token_expired"]
    assert "UNVERIFIED" not in result.stdout
    assert "signature   ok    verifies with the secret given" in result.stdout
    assert "qsh         ok    matches this request" in result.stdout
    assert "exp         FAIL  expired 4 min ago" in result.stdout
    assert "beyond the 90 s leeway" in result.stdout
    assert_nothing_leaked(result.stdout + result.stderr, expired)

    forged = token_for(CANONICAL, secret="another-secret-" * 5)
    status, out, _ = cli("explain", "GET", URL, forged, "--secret-env", "SHARED_SECRET", "--json")
    result_json = json.loads(out)
    assert status == STATUS["invalid_signature"]
    assert result_json["verified"] is False
    checks = {check["name"]: check for check in result_json["checks"]}
    assert checks["signature"]["status"] == "fail"
    assert checks["qsh"]["status"] == "ok"


@pytest.mark.parametrize(
    ("claims", "extra", "code", "check"),
    [
        ({}, [], None, None),
        ({"iat": NOW + 3600}, [], "token_not_yet_valid", "iat"),
        ({"nbf": NOW + 3600}, [], "token_not_yet_valid", "nbf"),
        ({"exp": None}, [], "missing_claim", "claims"),
        ({"iss": 7}, [], "invalid_claim", "claims"),
        ({"alg": "HS384"}, [], "algorithm_not_allowed", "algorithm"),
        ({"qsh": "context-qsh"}, [], "qsh_mismatch", "qsh"),
        ({"qsh": "context-qsh"}, ["--allow-context-qsh"], None, None),
    ],
)
def test_explain_each_check_without_a_secret(
    claims: dict[str, Any], extra: list[str], code: str | None, check: str | None
) -> None:
    status, out, _ = cli("explain", "GET", URL, token_for(CANONICAL, **claims), "--json", *extra)
    result = json.loads(out)
    assert status == (STATUS[code] if code else 0)
    assert result["verdict"]["code"] == code
    failed = [c["name"] for c in result["checks"] if c["status"] == "fail"]
    assert failed == ([check] if check else [])
    signature = next(c for c in result["checks"] if c["name"] == "signature")
    assert signature["status"] == "skipped"


def test_explain_with_a_secret_matches_verify() -> None:
    cases = [
        token_for(CANONICAL),
        token_for(CANONICAL, iat=NOW + 3600),
        token_for(CANONICAL, exp=None),
        token_for(CANONICAL, iss=None),
        token_for("GET&/x&"),
        token_for(CANONICAL, alg="HS512"),
    ]
    for token in cases:
        verified = cli(*VERIFY, token)[0]
        explained = cli("explain", "GET", URL, token, "--secret-env", "SHARED_SECRET")[0]
        assert explained == verified


def unsigned_install_token() -> str:
    """A signed install token's header and claims, with a signature nothing can verify."""
    claims = {
        "iss": CLIENT_KEY,
        "iat": NOW,
        "exp": NOW + 3600,
        "qsh": hash_url("POST", "/installed"),
        "aud": "https://app.example.com",
    }
    return unsigned({"alg": "RS256", "kid": "k"}, claims)


def test_explain_rs256_tokens_without_a_key() -> None:
    install = unsigned_install_token()
    status, out, _ = cli("explain", "POST", "/installed", install, "--json")
    result = json.loads(out)
    assert (status, result["kind"]) == (0, "install")
    forge = unsigned(
        {"alg": "RS256", "kid": "k"},
        {"iss": "forge/invocation-token", "aud": "ari:cloud:ecosystem::app/1", "exp": NOW + 3600},
    )
    status, out, _ = cli("explain", "POST", "/run", forge, "--json")
    result = json.loads(out)
    assert (status, result["kind"]) == (0, "forge")
    assert result["qsh"] is None


def test_explain_exit_statuses_for_missing_and_malformed_tokens() -> None:
    result = run("explain", "GET", "/page?a=1", "--json")
    assert result.returncode == STATUS["token_missing"]
    assert json.loads(result.stdout)["code"] == "token_missing"
    assert cli("explain", "GET", "/p?jwt=a&jwt=b")[0] == STATUS["token_malformed"]
    assert cli("explain", "GET", "/p", "x.y")[0] == STATUS["token_malformed"]


# Secrets and tokens never appear in output.


def test_no_output_holds_the_secret_or_the_token(tmp_path: Path) -> None:
    token = token_for(CANONICAL)
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    tenant = write_tenant(tmp_path / "tenant.json")
    # A claim that repeats another token: decode shows claims, but not that.
    odd = token_for(CANONICAL, note=f"see {token}")
    commands = [
        ["decode", odd],
        ["decode", "--json", f"https://app.example.com/p?jwt={odd}"],
        ["verify", token, "--method", "GET", "--url", URL, "--secret-file", str(secret_file)],
        ["verify", token, "--method", "GET", "--url", "/other", "--tenant", tenant, "--json"],
        ["explain", "GET", f"/other?jwt={token}", "--tenant", tenant],
        ["explain", "GET", "/p?a=1&jwt=abc", token, "--json", "--secret-file", str(secret_file)],
        ["qsh", "GET", f"/p?jwt={token}", "--json"],
        ["qsh", "GET", "/p", token],  # a usage error that would echo the token
        ["--json", "sign", "GET", "/p", "--tenant", tenant],
    ]
    for args in commands:
        out, err = io.StringIO(), io.StringIO()
        try:
            main(args, stdin=io.StringIO(""), stdout=out, stderr=err)
        except SystemExit:
            pass
        assert_nothing_leaked(out.getvalue() + err.getvalue(), token, odd)


# explain's search, on any request.

_URL_TEXT = st.text(alphabet="/a b+%2Bjwt=&?é:;,.~", max_size=30)


@given(method=st.sampled_from(["GET", "post", "Put"]), url=_URL_TEXT, base=_URL_TEXT)
def test_the_correct_canonical_request_is_never_called_a_mistake(
    method: str, url: str, base: str
) -> None:
    assert diagnose_qsh(method, url, hash_url(method, url, base), base) == []


@given(method=st.sampled_from(["GET", "DELETE"]), url=_URL_TEXT, body=_URL_TEXT)
def test_each_diagnosis_hashes_to_the_token_qsh(method: str, url: str, body: str) -> None:
    # Sign with the first mistake that applies (the base path, the method...): it is found.
    wrong = canonicalize_request("PATCH", url)
    diagnoses = diagnose_qsh(method, url, qsh_of(wrong), body=body or None)
    assert diagnoses, wrong
    for diagnosis in diagnoses:
        assert qsh_of(diagnosis.canonical_request) == qsh_of(wrong)
        assert "wrong_method" in diagnosis.codes


# The documented synopses are what the parser takes.


def _synopsis_argv(synopsis: str) -> list[str]:
    """A command line for a documented synopsis: the first of each set of alternatives, each
    placeholder given a value."""
    argv: list[str] = []
    skipping_to = -1  # the depth whose "]" ends the alternatives being skipped
    depth = 0
    for token in re.findall(r"\[|\]|\||[^\s\[\]|]+", synopsis):
        if token == "[":
            depth += 1
        elif token == "]":
            if depth == skipping_to:
                skipping_to = -1
            depth -= 1
        elif token == "|":
            skipping_to = depth if skipping_to < 0 else skipping_to
        elif skipping_to < 0:
            # A placeholder (METHOD, FILE, S) gets a value every option type takes.
            argv.append(token if token.startswith("-") or token[0].islower() else "60")
    return argv


def test_the_documented_synopses_parse() -> None:
    section = (ROOT / "docs" / "cli.rst").read_text(encoding="utf-8")
    synopses = re.findall(r"^``((?:qsh|decode|verify|sign|explain) [^`]*)``$", section, re.M)
    assert sorted(synopsis.split()[0] for synopsis in synopses) == sorted(
        command.name for command in COMMANDS
    )
    for synopsis in synopses:
        argv = _synopsis_argv(synopsis)
        args, unknown = build_parser().parse_known_args(argv)
        assert unknown == [], synopsis
        assert args.command.name == argv[0]


# Usage errors point the way.


@pytest.mark.parametrize(
    "args",
    [
        [*VERIFY[:5], "--secret", SECRET],
        [*VERIFY[:5], "--password", SECRET],
        ["explain", "GET", "/page", "the-token", SECRET],
    ],
    ids=["--secret", "--password", "positional"],
)
def test_regression_a_secret_on_the_command_line_gets_a_pointer(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err
    assert "--secret-env VAR, --secret-file FILE" in err
    assert SECRET not in err


def test_an_unknown_option_that_is_no_secret_gets_no_pointer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["qsh", "GET", "/p", "--colour"])
    err = capsys.readouterr().err
    assert "unrecognized arguments: --colour (values not shown)" in err
    assert "--secret-env" not in err


def test_key_server_and_jwks_url_help_says_loopback_http_works(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "https:// only" not in help_text
    assert help_text.count("http:// to a loopback address") == 2


# Each command exits only with the statuses its help lists.


def test_every_command_exits_only_with_the_statuses_its_help_lists(tmp_path: Path) -> None:
    tenant = write_tenant(tmp_path / "tenant.json")
    bad_url = "/caf\ud800"
    now = int(time.time())
    tokens = [
        "",
        "not-a-token",
        "a." * 9000 + "b",
        token_for(CANONICAL),
        token_for(CANONICAL, iss="other"),
        token_for(CANONICAL, alg="HS512"),
        token_for(CANONICAL, secret="another-secret-" * 5),
        token_for(CANONICAL, exp=None),
        token_for(CANONICAL, iat="1700000000"),
        token_for(CANONICAL, exp=now - 3600),
        token_for(CANONICAL, nbf=now + 3600),
        token_for("GET&/elsewhere&"),
    ]
    runs: dict[str, list[list[str]]] = {
        "qsh": [["qsh", "GET", bad_url], ["qsh", "GET", "/p"]],
        "decode": [["decode", token] for token in tokens if token],
        "sign": [["sign", "GET", bad_url, "--tenant", tenant],
                 ["sign", "GET", "/p", "--tenant", str(tmp_path / "none")]],
        "explain": [["explain", "GET", url, token, "--tenant", tenant]
                    for url in (URL, bad_url) for token in tokens if token]
        + [["explain", "GET", URL], ["explain", "GET", URL, tokens[3], "--secret-file", "-"]],
        "verify": [[*VERIFY, token] for token in tokens if token],
    }  # fmt: skip
    for command in COMMANDS:
        allowed = declared_statuses(command)
        seen = {cli(*args)[0] for args in runs[command.name]}
        assert seen <= set(allowed), (command.name, seen - set(allowed))
        assert len(seen) > 1, command.name


# explain: what a new user meets.


def test_explain_with_a_wrong_secret_says_so_and_names_a_likely_cause() -> None:
    signed_with_quotes = token_for(CANONICAL, secret=f'"{SECRET}"')
    status, out, _ = cli("explain", "GET", URL, signed_with_quotes, "--secret-env", "SHARED_SECRET")
    assert status == STATUS["invalid_signature"]
    lines = out.splitlines()
    assert lines[0].startswith("NOT VERIFIED: the signature does not verify with the secret")
    assert "UNVERIFIED" not in out and "has not been checked" not in out
    assert "signature   FAIL  does not verify with the secret given" in lines
    assert "  likely cause: the signer's secret is in quotes" in out
    assert lines[-1].startswith("verdict:    rejected, invalid_signature (exit status 16)")

    another = token_for(CANONICAL, secret="another-secret-" * 5)
    status, out, _ = cli(
        "explain", "GET", URL, another, "--secret-env", "SHARED_SECRET", "--json"
    )
    result = json.loads(out)
    assert [cause["code"] for cause in result["causes"]] == ["another_secret"]
    assert CLIENT_KEY in result["causes"][0]["description"]


def test_explain_points_install_tokens_to_the_public_key_not_a_secret() -> None:
    install = unsigned_install_token()
    status, out, _ = cli("explain", "POST", "/installed", install)
    assert status == 0
    assert out.splitlines()[0] == (
        "UNVERIFIED: the signature has not been checked (it needs Atlassian's key)."
    )
    assert "--secret-env" not in out and "secret given" not in out
    assert "a shared secret cannot verify" in out
    assert "check it with: atlassian-jwt verify TOKEN" in out and "--key-server" in out


def test_explain_without_a_secret_says_how_to_give_one() -> None:
    status, out, _ = cli("explain", "GET", URL, token_for(CANONICAL))
    assert status == 0
    assert "signature   --    not checked: no shared secret given" in out
    assert "give the secret with --secret-env VAR, --secret-file FILE" in out


def test_explain_a_body_the_route_hashes() -> None:
    left_out = token_for("POST&/page&a=1&b=2")
    args = ["explain", "POST", URL, left_out, "--body", "c=3", "--json"]
    result = json.loads(cli(*args, "--body-hashed")[1])
    assert [tuple(d["codes"]) for d in result["qsh"]["diagnoses"]] == [("form_body_omitted",)]
    assert result["qsh"]["canonical_request"] == "POST&/page&a=1&b=2&c=3"
    # Without --body-hashed the route hashes the query alone, which the token matches.
    assert json.loads(cli(*args)[1])["verdict"]["valid"] is True

"""Code written for 1.x and for 3.0.0 runs unchanged against the result of ``authenticate``.

1.x (the package page this project started from, ``../shared/seed/``) documented
``client_key = my_auth.authenticate(http_method, url, headers)`` followed by a tenant lookup
with that key; 3.0.0 returned the named tuple ``(client_key, claims)``. ``AuthResult`` serves
both (issue 13). The results are held as ``Any`` here, as the untyped code of both eras holds
them.
"""

from __future__ import annotations

import copy
import json
import pickle
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import jwt
import pytest

import atlassian_jwt
from atlassian_jwt import AuthResult
from atlassian_jwt.tenants import MemoryTenantStore, SQLiteTenantStore
from atlassian_jwt.testing import sign_product_request
from atlassian_jwt.url_utils import hash_url
from tests.readme import run_example
from tests.support import APP_KEY, CLIENT_KEY, SECRET, installed_payload

TENANT_INFO = installed_payload()
URL = "/issue-panel?issueKey=DEMO-1&lic=active&tz=Europe%2FParis"


def product_token(method: str = "GET", url: str = URL, **claims: Any) -> str:
    """A token as Jira signs a call to the app: ``iss`` is the tenant's client key.

    A claim given as ``None`` is left out.
    """
    tenant = {"clientKey": CLIENT_KEY, "sharedSecret": SECRET}
    return sign_product_request(
        method, url, tenant, account_id="557058:5b10ac8d82e05b22cc7d4ef5", claims=claims
    )


class SeedAddon(atlassian_jwt.Authenticator):
    """The subclass of the 1.8.1 package page: Python 2 ``super``, a store that may miss."""

    def __init__(self, tenant_info_store: Any) -> None:
        super(SeedAddon, self).__init__()  # noqa: UP008 - as 1.x code wrote it
        self.tenant_info_store = tenant_info_store

    def get_shared_secret(self, client_key: str) -> Any:
        tenant_info = self.tenant_info_store.get(client_key)
        return tenant_info["sharedSecret"]


def authenticate_as_1x(store: Any, headers: dict[str, str]) -> Any:
    """The 1.x flow: the result is the client key; the app looks its tenant up with it."""
    my_auth = SeedAddon(store)
    try:
        client_key = my_auth.authenticate("GET", URL, headers)
    except atlassian_jwt.DecodeError:
        return None
    return store.get(client_key)


# The 1.x flow.


def test_regression_1x_readme_flow_looks_the_tenant_up_with_the_result() -> None:
    # 3.0.0's named tuple held the claims dict, so the lookup raised "unhashable type".
    store = {CLIENT_KEY: TENANT_INFO}
    headers = {"Authorization": f"JWT {product_token()}"}
    assert authenticate_as_1x(store, headers) is TENANT_INFO


def test_1x_readme_flow_with_the_library_tenant_stores(tmp_path: Path) -> None:
    memory = MemoryTenantStore()
    sqlite_store = SQLiteTenantStore(tmp_path / "tenants.db", app_key=TENANT_INFO["key"])
    for store in (memory, sqlite_store):
        store.save(TENANT_INFO)
        tenant = authenticate_as_1x(store, {"Authorization": f"JWT {product_token()}"})
        assert tenant is not None and tenant["sharedSecret"] == SECRET


def test_1x_readme_flow_unknown_tenant_and_bad_token_are_decode_errors() -> None:
    # The seed's get_shared_secret subscripts None for an unknown tenant: still a rejection.
    assert authenticate_as_1x({}, {"Authorization": f"JWT {product_token()}"}) is None
    headers = {"Authorization": f"JWT {product_token(qsh='0' * 64)}"}
    assert authenticate_as_1x({CLIENT_KEY: TENANT_INFO}, headers) is None


def test_1x_readme_encoding_flow() -> None:
    http_method, url = "GET", "/rest/api/2/issue/DEMO-1"
    token = atlassian_jwt.encode_token(http_method, url, **TENANT_INFO)
    headers = {"Authorization": "JWT {}".format(token)}  # noqa: UP032 - as 1.x code wrote it
    claims = jwt.decode(
        headers["Authorization"].split()[1], SECRET, ["HS256"], options={"verify_aud": False}
    )
    assert claims["iss"] == APP_KEY and claims["qsh"] == hash_url(http_method, url)


def _sqlite_lookup(key: Any) -> Any:
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE tenants (client_key TEXT PRIMARY KEY, secret TEXT)")
        db.execute("INSERT INTO tenants VALUES (?, ?)", (CLIENT_KEY, SECRET))
        return db.execute("SELECT secret FROM tenants WHERE client_key = ?", (key,)).fetchone()


# What 1.x code does with the client key: each gives the same for the result as for the key.
KEY_USES: list[tuple[str, Callable[[Any], Any]]] = [
    ("dict lookup", lambda key: {CLIENT_KEY: 1}[key]),
    ("dict get", lambda key: {CLIENT_KEY: 1}.get(key)),
    ("in a dict", lambda key: key in {CLIENT_KEY: 1}),
    ("dict key", lambda key: {key: 1} == {CLIENT_KEY: 1}),
    ("in a set", lambda key: key in {CLIENT_KEY}),
    ("equality", lambda key: (key == CLIENT_KEY, CLIENT_KEY == key, key != CLIENT_KEY)),
    ("inequality to another key", lambda key: (key == "jira:other", key != "jira:other")),
    ("hash", hash),
    ("ordering", lambda key: sorted([key, "a", "zzz"])),
    ("str", lambda key: (str(key), type(str(key)))),
    ("% formatting", lambda key: "tenant %s" % key),  # noqa: UP031 - as 1.x code wrote it
    ("str.format", lambda key: "tenant {}".format(key)),  # noqa: UP032 - as 1.x code wrote it
    ("f-string", lambda key: f"tenant {key}|{key:>40}"),
    ("concatenation", lambda key: ("tenant:" + key, key + ":secrets")),
    ("str methods", lambda key: (key.upper(), key.split("-")[0], key.startswith("1111"))),
    ("substring", lambda key: "2222" in key),
    ("length", len),
    ("slice", lambda key: key[:8]),
    ("json", lambda key: json.dumps({"clientKey": key})),
    ("sqlite", _sqlite_lookup),
    ("encode", lambda key: key.encode("utf-8")),
]


@pytest.mark.parametrize("use", [use for _, use in KEY_USES], ids=[name for name, _ in KEY_USES])
def test_the_result_serves_as_the_client_key(use: Callable[[Any], Any]) -> None:
    result = SeedAddon({CLIENT_KEY: TENANT_INFO}).authenticate(
        "GET", URL, {"Authorization": f"JWT {product_token()}"}
    )
    assert use(result) == use(CLIENT_KEY)


# The 3.0.0 flow.


class Addon30(atlassian_jwt.Authenticator):
    """3.0.0's documented subclass."""

    def __init__(self, tenant_info_store: Any) -> None:
        super().__init__()
        self.tenant_info_store = tenant_info_store

    def get_shared_secret(self, client_key: str) -> Any:
        return self.tenant_info_store.get(client_key)["sharedSecret"]


def authenticate_as_3_0_0(url: str = URL, **claims: Any) -> Any:
    mauth = Addon30({CLIENT_KEY: TENANT_INFO})
    return mauth.authenticate("GET", url, {"Authorization": f"JWT {product_token(**claims)}"})


def test_3_0_0_flow_unpacks_into_client_key_and_claims() -> None:
    client_key, claims = authenticate_as_3_0_0()
    assert client_key == CLIENT_KEY and type(client_key) is str
    assert claims["iss"] == CLIENT_KEY and claims["qsh"] == hash_url("GET", URL)


def test_3_0_0_named_tuple_uses() -> None:
    result = authenticate_as_3_0_0()
    claims = result.claims
    assert (result.client_key, result.claims["sub"]) == (CLIENT_KEY, claims["sub"])
    assert (result[0], result[1]) == (CLIENT_KEY, claims)
    assert (result[-1], result[-2]) == (claims, CLIENT_KEY)
    assert result == (CLIENT_KEY, claims) and not result != (CLIENT_KEY, claims)
    assert result != (CLIENT_KEY, {}) and result != (CLIENT_KEY,)
    assert tuple(result) == (CLIENT_KEY, claims) and list(result) == [CLIENT_KEY, claims]
    assert dict([result]) == {CLIENT_KEY: claims}
    first, *rest = result
    assert (first, rest) == (CLIENT_KEY, [claims])


def test_what_gives_way_for_3_0_0_code() -> None:
    # As the README's migration notes say: a str cannot also be a tuple.
    result = authenticate_as_3_0_0()
    assert not isinstance(result, tuple) and isinstance(result, str)
    assert len(result) == len(CLIENT_KEY)
    assert json.dumps(result) == json.dumps(CLIENT_KEY)
    assert not hasattr(result, "_asdict") and not hasattr(result, "_replace")
    with pytest.raises(IndexError, match="client_key"):
        result[2]


def test_account_id_is_the_acting_user() -> None:
    assert authenticate_as_3_0_0().account_id == "557058:5b10ac8d82e05b22cc7d4ef5"
    # No user acts (a webhook, a lifecycle callback): no sub, or an empty one.
    assert authenticate_as_3_0_0(sub=None).account_id is None
    assert AuthResult(CLIENT_KEY, {"iss": CLIENT_KEY}).account_id is None
    assert AuthResult(CLIENT_KEY, {"iss": CLIENT_KEY, "sub": ""}).account_id is None


def test_repr_names_the_claims_but_shows_no_value() -> None:
    result = authenticate_as_3_0_0(context={"user": {"accountId": "557058:secret-person"}})
    text = repr(result)
    assert text.startswith(f"AuthResult(client_key={CLIENT_KEY!r}, claims={{'iss': ...")
    assert "'sub': ..." in text and "'context': ..." in text
    assert "557058" not in text and result.claims["qsh"] not in text


def test_pickles_and_copies_with_its_claims() -> None:
    result = authenticate_as_3_0_0()
    for twin in (pickle.loads(pickle.dumps(result)), copy.copy(result), copy.deepcopy(result)):
        assert type(twin) is AuthResult
        assert twin == result and twin.client_key == CLIENT_KEY
        assert twin.claims == result.claims and twin.account_id == result.account_id


def test_attributes_cannot_be_replaced() -> None:
    result = authenticate_as_3_0_0()
    for name in ("client_key", "claims", "account_id"):
        with pytest.raises(AttributeError):
            setattr(result, name, "x")


def test_constructed_as_the_named_tuple_was() -> None:
    claims = {"iss": CLIENT_KEY}
    positional: Any = AuthResult(CLIENT_KEY, claims)
    keywords: Any = AuthResult(claims=claims, client_key=CLIENT_KEY)
    assert positional == keywords == CLIENT_KEY and positional.claims is claims
    # Built from another result, the client key is a plain str again.
    assert type(AuthResult(positional, claims).client_key) is str


@pytest.mark.parametrize(
    ("client_key", "claims"),
    [(None, {}), (b"jira:1", {}), (1234, {}), (CLIENT_KEY, None), (CLIENT_KEY, [("iss", "x")])],
)
def test_bad_arguments_are_type_errors(client_key: Any, claims: Any) -> None:
    with pytest.raises(TypeError):
        AuthResult(client_key, claims)


def test_readme_migration_example_runs() -> None:
    store = {CLIENT_KEY: TENANT_INFO}
    namespace = run_example(
        "auth-result-eras",
        {
            "authenticator": Addon30(store),
            "tenants": store,
            "method": "GET",
            "url": URL,
            "headers": {"Authorization": f"JWT {product_token()}"},
        },
    )
    assert namespace["tenant"] is TENANT_INFO
    assert namespace["claims"]["iss"] == CLIENT_KEY
    assert namespace["user"] == "557058:5b10ac8d82e05b22cc7d4ef5"

"""The result of a successful authentication, at run time: the client key that is also a pair.

:mod:`atlassian_jwt.authenticate` exports it as :class:`~atlassian_jwt.AuthResult`; type
checkers see the 3.0.0 named tuple declared there instead (see that class's docstring).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, SupportsIndex, overload

__all__ = ["AuthResult"]


class AuthResult(str):
    """The outcome of a successful authentication: the tenant's client key, with the claims.

    It serves code written for either earlier release unchanged. It **is** the client key, as
    1.x returned it: a ``str`` equal to the ``clientKey``, hashing, comparing, formatting and
    concatenating as it does, so it looks the tenant up in a dict or a database as it is. It
    also **unpacks** as ``client_key, claims`` and indexes as that pair (``result[0]``,
    ``result[1]``), as 3.0.0's named tuple did, and it compares equal to that tuple::

        client_key = authenticator.authenticate(method, url, headers)  # 1.x
        tenant = tenants[client_key]

        client_key, claims = authenticator.authenticate(method, url, headers)  # 3.0.0

        result = authenticator.authenticate(method, url, headers)  # either
        result.client_key, result.claims, result.account_id

    What gives way, as a ``str`` cannot be a tuple too: iterating gives the pair, not the key's
    characters (``result.client_key`` is a plain ``str`` for that); ``len(result)`` is the
    key's length, not 2; a slice (``result[:8]``) slices the key; it is not a ``tuple`` for
    ``isinstance`` and has no ``_asdict`` or ``_replace``; ``json.dumps`` writes the key alone.
    Its ``repr`` names the claims but shows none of their values (``sub`` and ``context``
    describe a person); read them from :attr:`claims`. It pickles and copies.

    Type checkers see it as 3.0.0's named tuple ``(client_key: str, claims: dict)`` with an
    ``account_id`` property, so typed code that unpacks it (the usual form since 3.0.0) is
    typed exactly; where typed code uses it as the key itself, read :attr:`client_key`.

    :param client_key: the tenant's ``clientKey``.
    :param claims: the verified claims.
    :raises TypeError: if ``client_key`` is not a ``str`` or ``claims`` not a ``dict``.

    >>> result = AuthResult("jira:1234", {"iss": "jira:1234", "sub": "557058:f00d"})
    >>> client_key, claims = result
    >>> {"jira:1234": "the tenant"}[result], result == "jira:1234", claims["sub"]
    ('the tenant', True, '557058:f00d')
    >>> result.account_id, f"tenant {result}"
    ('557058:f00d', 'tenant jira:1234')
    >>> result
    AuthResult(client_key='jira:1234', claims={'iss': ..., 'sub': ...})
    """

    _client_key: str
    _claims: dict[str, Any]

    def __new__(cls, client_key: str, claims: dict[str, Any]) -> AuthResult:
        # Built on every authentication: the common case, a plain str, costs one test.
        if type(client_key) is not str:
            if not isinstance(client_key, str):
                raise TypeError(f"client_key must be a str, not {type(client_key).__name__}")
            # A plain str, also when client_key is itself an AuthResult.
            client_key = str.__str__(client_key)
        if not isinstance(claims, dict):
            raise TypeError(f"claims must be a dict, not {type(claims).__name__}")
        result = str.__new__(cls, client_key)
        result._client_key = client_key
        result._claims = claims
        return result

    @property
    def client_key(self) -> str:
        """The tenant's ``clientKey``, as a plain ``str``: the verified ``iss`` claim."""
        return self._client_key

    @property
    def claims(self) -> dict[str, Any]:
        """All verified claims of the token."""
        return self._claims

    @property
    def account_id(self) -> str | None:
        """The acting user's Atlassian account id (the ``sub`` claim); ``None`` if no user acts.

        Webhooks, lifecycle callbacks and calls a tenant makes on its own carry no user.
        """
        sub = self._claims.get("sub")
        return sub if isinstance(sub, str) and sub else None

    def __iter__(self) -> Iterator[Any]:
        return iter((self._client_key, self._claims))

    @overload
    def __getitem__(self, key: SupportsIndex) -> Any: ...

    @overload
    def __getitem__(self, key: slice) -> str: ...

    def __getitem__(self, key: SupportsIndex | slice) -> Any:
        if isinstance(key, slice):
            return self._client_key[key]
        try:
            return (self._client_key, self._claims)[key]
        except IndexError:
            raise IndexError(
                "AuthResult indexes as (client_key, claims); index result.client_key for the "
                "key's characters"
            ) from None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return (self._client_key, self._claims) == other
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = str.__hash__

    def __reduce__(self) -> tuple[type[AuthResult], tuple[str, dict[str, Any]]]:
        return (AuthResult, (self._client_key, self._claims))

    def __repr__(self) -> str:
        names = ", ".join(f"{name!r}: ..." for name in self._claims)
        return f"AuthResult(client_key={self._client_key!r}, claims={{{names}}})"

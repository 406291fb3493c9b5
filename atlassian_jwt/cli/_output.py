"""Everything the command writes goes through :class:`Output`: secrets and tokens removed,
control characters escaped.

A token is the attacker's text: its ``alg``, its claims, even their names can hold line breaks
and terminal escape sequences that, printed raw, forge a ``verdict: valid`` line, hide the real
one or rewrite the terminal. So every character Python does not count as printable
(:meth:`str.isprintable`: C0 and C1 controls, ESC, DEL, the line and paragraph separators
U+2028 and U+2029, the bidirectional overrides and other format characters, lone surrogates) is
written as an escape: ``\\x1b``, ``\\u2028`` in text output, a JSON ``\\u`` escape in JSON output,
whose values are then the same.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

#: Anything shaped like a JWT (base64url JSON header starting '{"'), removed from error output
#: even before we know which token the user meant.
JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
REDACTED = "[redacted]"


def audience(claims: dict[str, Any]) -> list[Any]:
    """The ``aud`` claim as a list (it may be one string), as ``decode`` and ``verify`` print it."""
    aud = claims.get("aud")
    if aud is None:
        return []
    return list(aud) if isinstance(aud, list) else [aud]


def escape_text(text: str) -> str:
    """Write each character that is not printable as a Python escape, one line of text.

    >>> escape_text("HS256\\nverdict:    valid\\x1b[2K")
    'HS256\\\\x0averdict:    valid\\\\x1b[2K'
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _python_escape(char) for char in text)


def escape_json(text: str) -> str:
    """Write each character of JSON text that is not printable (but its line breaks, which
    only ever separate values) as a JSON escape; the JSON means the same.

    >>> escape_json('{"alg": "\\u202eHS256"}')
    '{"alg": "\\\\u202eHS256"}'
    """
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() or char == "\n" else _json_escape(char) for char in text
    )


def _python_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _json_escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON spells characters beyond the BMP
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


class Output:
    """Writes results and errors, removing secrets and tokens from everything written and
    escaping what is not printable."""

    def __init__(self, stdout: IO[str], stderr: IO[str]) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self._hidden: list[str] = []

    def hide(self, text: str) -> None:
        """Never write ``text`` (a secret, a token, a signature) from now on."""
        # Very short strings would redact ordinary words; no real secret or token is that short.
        if len(text) < 8:
            return
        # As it is, and as it appears inside a JSON string.
        for form in {text, json.dumps(text, ensure_ascii=False)[1:-1]}:
            if form not in self._hidden:
                self._hidden.append(form)
        self._hidden.sort(key=len, reverse=True)

    def clean(self, text: str, *, keep_tokens: bool = False) -> str:
        """``text`` without the hidden strings (nor, unless ``keep_tokens``, anything shaped
        like a token)."""
        for hidden in self._hidden:
            text = text.replace(hidden, REDACTED)
        return text if keep_tokens else JWT_SHAPED.sub(REDACTED, text)

    def print(self, text: str = "") -> None:
        """Write one line of output."""
        self.stdout.write(escape_text(self.clean(text)) + "\n")

    def json(self, value: Any, *, keep_tokens: bool = False) -> None:
        """Write ``value`` as JSON; ``keep_tokens`` only for the token ``sign`` made."""
        text = json.dumps(value, indent=2, ensure_ascii=False)
        self.stdout.write(escape_json(self.clean(text, keep_tokens=keep_tokens)) + "\n")

    def token(self, text: str) -> None:
        """Write the one line that may hold a token: the one ``sign`` made."""
        self.stdout.write(escape_text(self.clean(text, keep_tokens=True)) + "\n")

    def error(self, text: str) -> None:
        """Write one line to standard error."""
        self.stderr.write(escape_text(self.clean(text)) + "\n")

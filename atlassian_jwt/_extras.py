"""What to install for an extra: the one message every module whose extra is missing gives.

``pip install 'atlassian-jwt[crypto]'`` names the extra, but until atlassian-jwt 4 is on PyPI
it installs 3.0.0, which has no such extra. So the message names the packages themselves, as
the installed distribution's metadata lists them for the extra (setup.py is their one home),
then the extra they make up::

    needs cryptography: pip install 'cryptography>=3.4' (the [crypto] extra of atlassian-jwt 4)

When the metadata cannot be read (the package imported from a source tree that is not
installed, or another version's metadata found), the message names the package the caller
needs, without a version.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

__all__ = ["extra_requirements", "install_hint", "missing_extra"]

DISTRIBUTION = "atlassian-jwt"

# One clause of a requirement's environment marker, as setuptools writes it in the metadata.
_EXTRA_CLAUSE = re.compile(r"""^extra\s*==\s*["']([^"']+)["']$""")
_PYTHON_CLAUSE = re.compile(r"""^python_version\s*(>=|<=|==|!=|>|<)\s*["'](\d+(?:\.\d+)*)["']$""")


def _python_clause_holds(operator: str, version: str) -> bool:
    running = sys.version_info[:2]
    wanted = tuple(int(part) for part in version.split("."))
    return {
        ">=": running >= wanted,
        "<=": running <= wanted,
        "==": running == wanted,
        "!=": running != wanted,
        ">": running > wanted,
        "<": running < wanted,
    }[operator]


def extra_requirements(extra: str, requires: Sequence[str]) -> list[str]:
    """Pick the requirements of ``extra`` out of a distribution's ``Requires-Dist`` lines.

    A requirement whose marker limits it to other Pythons than this one is left out (httpx2
    needs 3.11); any other clause of a marker is not evaluated, and the requirement is kept.

    :param extra: the extra's name, such as ``"crypto"``.
    :param requires: the lines, as :func:`importlib.metadata.requires` returns them.
    :returns: the requirements without their markers, in the order given.

    >>> extra_requirements("crypto", ['PyJWT>=2.10.1', 'cryptography>=3.4; extra == "crypto"'])
    ['cryptography>=3.4']
    >>> extra_requirements("new", ['a>=1; python_version < "3.0" and extra == "new"'])
    []
    """
    found = []
    for line in requires:
        requirement, _, marker = line.partition(";")
        clauses = [clause.strip() for clause in marker.split(" and ")] if marker.strip() else []
        extras = [m.group(1) for m in map(_EXTRA_CLAUSE.match, clauses) if m]
        if extras != [extra]:
            continue
        pythons = [m.groups() for m in map(_PYTHON_CLAUSE.match, clauses) if m]
        if all(_python_clause_holds(operator, version) for operator, version in pythons):
            found.append(requirement.strip())
    return found


def _installed_requirements(extra: str) -> tuple[list[str], str] | None:
    """The extra's requirements and the major version, from this version's own metadata."""
    # Imported here: only a missing extra pays for reading the metadata, never the import of
    # the library.
    import importlib.metadata

    from . import __version__

    try:
        distribution = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    if distribution.version != __version__:
        return None  # another installed version's extras, not ours
    return extra_requirements(extra, distribution.requires or []), __version__.split(".")[0]


def _installs_something(extra: str) -> bool:
    installed = _installed_requirements(extra)
    return installed is None or bool(installed[0])


def install_hint(extra: str, *packages: str) -> str:
    """Say how to install an extra: its packages, then the extra's name.

    :param extra: the extra, such as ``"crypto"``.
    :param packages: the packages it brings, named (without versions) when the metadata
        cannot be read.
    :returns: such as ``pip install 'cryptography>=3.4' (the [crypto] extra of
        atlassian-jwt 4)``.
    """
    installed = _installed_requirements(extra)
    if installed is None:
        from . import __version__

        requirements, major = list(packages), __version__.split(".")[0]
    else:
        requirements, major = installed
        if not requirements:  # httpx2 before Python 3.11
            python = f"Python {sys.version_info[0]}.{sys.version_info[1]}"
            return f"the [{extra}] extra of {DISTRIBUTION} {major} installs nothing on {python}"
    quoted = " ".join(f"'{requirement}'" for requirement in requirements)
    return f"pip install {quoted} (the [{extra}] extra of {DISTRIBUTION} {major})"


def missing_extra(what: str, *options: tuple[str, str]) -> ImportError:
    """The :class:`ImportError` to raise when an extra is missing.

    :param what: what cannot work, such as ``"atlassian_jwt.integrations.flask_ext"``.
    :param options: ``(extra, package)`` pairs, each an extra that would do and the package
        it brings that ``what`` imports (named when the metadata cannot be read); the first
        is offered first, the others each after an "or".
    :returns: the error, its message ``<what> needs <package>: pip install ...``.
    """
    # An extra that installs nothing on this Python (httpx2 before 3.11) is no option here.
    usable = tuple(option for option in options if _installs_something(option[0]))
    options = usable or options
    needs = " or ".join(dict.fromkeys(package for _, package in options))
    hints = ", or ".join(install_hint(extra, package) for extra, package in options)
    return ImportError(f"{what} needs {needs}: {hints}")

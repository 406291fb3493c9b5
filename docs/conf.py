"""Sphinx configuration of the atlassian-jwt documentation (built with -W -n in CI)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.nodes import make_refnode

ROOT = Path(__file__).resolve().parent.parent
# The package documented is the one in this checkout, whether or not it is installed.
sys.path.insert(0, str(ROOT))

import atlassian_jwt  # noqa: E402

project = "atlassian-jwt"
author = "atlassian-jwt contributors"
copyright = "atlassian-jwt contributors, MIT licence"  # noqa: A001 - Sphinx's name
release = atlassian_jwt.__version__
version = release.split(".dev")[0]

extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode", "myst_parser"]

html_theme = "furo"
html_title = f"atlassian-jwt {version}"
exclude_patterns = ["_build", "requirements.txt"]
# Pages are .rst; Markdown is read only where a page includes SECURITY.md. The pages' doctests
# run under pytest (docs/conftest.py), not here.
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
pygments_style = "sphinx"
pygments_dark_style = "monokai"

# Every reference to the package's own names must resolve (-n, with -W in CI).
nitpicky = True
default_role = "py:obj"

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True, "inherited-members": True}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

# Names of the standard library and of the libraries the package wraps: the build runs offline,
# without intersphinx, so these are written as text rather than links. The package's own names
# are not in this list and so must all resolve.
_EXTERNAL = (
    r"(typing|collections|collections\.abc|abc|enum|datetime|pathlib|os|io|ssl|socket|"
    r"http|http\.client|urllib|urllib\.parse|asyncio|concurrent|concurrent\.futures|"
    r"threading|sqlite3|time|types|contextlib|logging|json|argparse|dataclasses|builtins)(\..+)?"
    r"|(jwt|cryptography|requests|urllib3|httpx|httpx2|flask|werkzeug|django|starlette|"
    r"fastapi|sqlalchemy|sa|pytest|_pytest|time_machine)(\..+)?"
)
_BUILTINS = (
    r"str|bytes|bytearray|int|float|bool|complex|dict|list|tuple|set|frozenset|object|type|"
    r"None|NoneType|Ellipsis|NotImplemented|Exception|BaseException|ValueError|TypeError|"
    r"KeyError|LookupError|ImportError|RuntimeError|OSError|TimeoutError|ConnectionError|"
    r"AttributeError|UnicodeError|PermissionError|FileNotFoundError|memoryview|callable|"
    r"Any|Callable|Mapping|MutableMapping|Sequence|Iterable|Iterator|Awaitable|Coroutine|"
    r"AsyncIterator|AsyncGenerator|Generator|Union|Optional|Literal|NamedTuple|Protocol|"
    r"TypeVar|ClassVar|Final|Generic|Hashable|Collection|Container|Sized|Path|Enum|"
    r"ModuleType|TracebackType|datetime|timedelta|date|Self|T|F|_T|_Server|RSAPublicKey|"
    r"RSAPrivateKey|PyJWK|PyJWKClient|Request|Response|Blueprint|HttpRequest|HttpResponse|"
    r"URLPattern|Route|Engine|Headers|Session|Client|AsyncClient|MonkeyPatch|FixtureRequest|"
    r"ProxyFix|ASGIApp|Scope|WSGIEnvironment|StartResponse|SSLContext|Connection"
)
nitpick_ignore_regex = [
    (r"py:.*", rf"({_EXTERNAL})"),
    (r"py:.*", rf"({_BUILTINS})"),
    # Type variables of signatures: the decorated view's type, a server's own type.
    (r"py:class", r"atlassian_jwt\..*\.(F|_Server)"),
    # The kit's case-insensitive header mapping (ReceivedRequest.headers) is not exported.
    (r"py:class", r"atlassian_jwt\.testing\._server\.Headers"),
]


def _public_modules() -> list[str]:
    """Every public module of the package, in a fixed order."""
    names = ["atlassian_jwt"] + sorted(
        found.name
        for found in pkgutil.walk_packages(atlassian_jwt.__path__, "atlassian_jwt.")
        if not re.search(r"(^|\.)_", found.name)
    )
    return names


def _homes() -> dict[int, str]:
    """Where each exported class or function is documented: by id, its module's name.

    In the module that defines it if that module is public. A name defined in a private module
    (``AuthResult``, the transports) is documented in the public package that holds that
    private module if it exports the name, else in the module that does; PyJWT's
    ``DecodeError``, the root of the package's exceptions, in :mod:`atlassian_jwt.exceptions`.
    """
    exporters: dict[int, list[str]] = {}
    objects: dict[int, Any] = {}
    for name in _public_modules():
        module = importlib.import_module(name)
        for exported in getattr(module, "__all__", ()):
            found = getattr(module, exported)
            if inspect.isclass(found) or inspect.isfunction(found):
                exporters.setdefault(id(found), []).append(name)
                objects[id(found)] = found
    homes = {}
    for key, modules in exporters.items():
        defined_in = objects[key].__module__
        if defined_in in modules:
            homes[key] = defined_in
        elif defined_in.startswith("atlassian_jwt."):
            parent = defined_in.rpartition(".")[0]
            homes[key] = parent if parent in modules else modules[-1]
        else:
            exceptions = "atlassian_jwt.exceptions"
            homes[key] = exceptions if exceptions in modules else modules[-1]
    return homes


HOMES = _homes()


def _documented(cls: type) -> bool:
    """Whether a class is documented: the package's exported classes are, and nothing else."""
    return id(cls) in HOMES


def _inherited_from(cls: type, name: str) -> type | None:
    """The class in ``cls``'s method resolution order whose body defines ``name``, or (an
    instance attribute) whose source documents it with a ``#:`` comment."""
    for base in cls.__mro__:
        if name in vars(base):
            return base
    for base in cls.__mro__:
        try:
            documented = ModuleAnalyzer.for_module(base.__module__).find_attr_docs()
        except PycodeError:
            continue
        if (base.__qualname__, name) in documented:
            return base
    return None


def skip_imported_members(
    app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    """Document each exported class or function once, in its home (see :func:`_homes`), and
    each class with what it inherits from undocumented (private) bases only.

    A module's ``__all__`` also names what it imports (``authenticate`` re-exports
    ``DecodeError``, every framework helper ``LIFECYCLE_EVENTS``); references to those names
    anywhere resolve to the one place they are documented (see :func:`resolve_aliases`). A
    class's members inherited from a documented base (``LocalServer``) or from outside the
    package (``str``, ``Exception``) are left to that base; those of a private base
    (``KeyRing``) are shown on the class, where a reader finds them.
    """
    module = app.env.temp_data.get("autodoc:module")
    if what == "module":
        if id(obj) in HOMES and module:
            return HOMES[id(obj)] != module
        return None
    qualname = app.env.temp_data.get("autodoc:class")
    cls = _import(f"{module}.{qualname}") if module and qualname else None
    if what not in ("class", "exception") or not inspect.isclass(cls):
        return None
    definer = _inherited_from(cls, name)
    if definer is None or definer is cls:
        return None
    if definer.__module__.startswith("atlassian_jwt") and not _documented(definer):
        return None  # a private base's member: shown here
    return True


def public_bases(app: Sphinx, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    """Show a class's documented bases: a private base gives way to its own bases."""
    shown: list[type] = []
    pending = list(bases)
    while pending:
        base = pending.pop(0)
        if base.__module__.startswith("atlassian_jwt") and not _documented(base):
            pending[:0] = [b for b in base.__bases__ if b is not object]
        elif base not in shown:
            shown.append(base)
    bases[:] = shown


def _object_ids(env: BuildEnvironment) -> dict[int, str]:
    """Each documented Python object's id, mapped to the name it is documented under."""
    cache: dict[int, str] | None = getattr(env.app, "_atlassian_jwt_ids", None)
    if cache is not None:
        return cache
    cache = {}
    for name in env.get_domain("py").objects:  # type: ignore[attr-defined]
        found = _import(name)
        if found is not None and not isinstance(found, (int, str, float, bytes, tuple)):
            cache.setdefault(id(found), name)
    env.app._atlassian_jwt_ids = cache  # type: ignore[attr-defined]
    return cache


def _import(dotted: str) -> Any:
    """The object a dotted name names, or ``None``."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                found = getattr(found, attribute)
        except AttributeError:
            return None
        return found
    return None


def resolve_aliases(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.Element
) -> nodes.Element | None:
    """Resolve a reference to a name the package re-exports to where it is documented.

    ``atlassian_jwt.Authenticator`` is documented as ``atlassian_jwt.authenticate
    .Authenticator``, ``atlassian_jwt._http.Transport`` (how a signature names it) as
    ``atlassian_jwt.Transport``: the same object, so the reference goes there.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if module and not target.startswith("atlassian_jwt"):
        candidates[:0] = ([f"{module}.{cls}.{target}"] if cls else []) + [f"{module}.{target}"]
    for candidate in candidates:
        if not candidate.startswith("atlassian_jwt"):
            continue
        found = _import(candidate)
        if found is None:
            continue
        documented = _object_ids(env).get(id(found))
        if documented is None:
            continue
        entry = env.get_domain("py").objects[documented]  # type: ignore[attr-defined]
        return make_refnode(
            app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, documented
        )
    return None


def check_no_private_pages(app: Sphinx, env: BuildEnvironment) -> None:
    """Refuse to document a private module by accident: each has a public face."""
    for name in env.get_domain("py").modules:  # type: ignore[attr-defined]
        if re.search(r"(^|\.)_", name):
            raise RuntimeError(f"the private module {name} is documented")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-skip-member", skip_imported_members)
    app.connect("autodoc-process-bases", public_bases)
    app.connect("missing-reference", resolve_aliases)
    app.connect("env-updated", check_no_private_pages)
    return {"parallel_read_safe": True}

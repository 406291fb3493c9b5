"""Atlassian's JavaScript library, npm ``atlassian-jwt``, in the one folder everything uses.

The benchmark times it (``node_worker.js``), and two tests check this library against it (the
benchmark's Node worker in ``tests/test_benchmarks.py``, the testing kit's tokens in
``tests/testing/test_js_interop.py``). All of them find it under :data:`NODE_CACHE`, pinned
to :data:`NODE_VERSION`; only this module installs it, with ``npm``, and no test does (tests
reach no network): ``.ci/run`` installs it before the tests, and ``benchmarks/run.py`` when it
is missing::

    python benchmarks/node_package.py    # install it (once); exit status 1 if it cannot

Standard library only, so that ``.ci/run`` can run it before anything is installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

#: Atlassian's JavaScript library, the version atlassian-connect-express depends on.
NODE_PACKAGE = "atlassian-jwt"
NODE_VERSION = "2.0.3"
#: Where it is installed (git-ignored): ``node_modules`` under this folder.
NODE_CACHE = Path(__file__).resolve().parent / ".node-cache"
#: What a test that needs it and does not find it says (it fails under ``CI``).
NOT_INSTALLED = (
    f"NOT RUN: needs node and npm {NODE_PACKAGE} {NODE_VERSION} in {NODE_CACHE} "
    "(python benchmarks/node_package.py installs it)"
)


def installed_version(folder: Path = NODE_CACHE) -> str | None:
    """The version of npm ``atlassian-jwt`` installed under ``folder``, if any."""
    try:
        manifest = json.loads((folder / "node_modules" / NODE_PACKAGE / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = manifest.get("version") if isinstance(manifest, dict) else None
    return version if isinstance(version, str) else None


def node_modules(folder: Path = NODE_CACHE) -> Path | None:
    """The ``node_modules`` folder with the pinned version, if it is installed and ``node`` is
    on the ``PATH``; else ``None``."""
    if shutil.which("node") is None or installed_version(folder) != NODE_VERSION:
        return None
    return folder / "node_modules"


def install(folder: Path = NODE_CACHE) -> str | None:
    """Install npm ``atlassian-jwt`` :data:`NODE_VERSION` under ``folder`` (once).

    :returns: ``node``'s path, or ``None``, having printed one line that says why, when
        ``node`` or ``npm`` is not on the ``PATH`` or the install fails.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        print(f"no {missing} on the PATH: {NODE_PACKAGE} is not installed", file=sys.stderr)
        return None
    if installed_version(folder) != NODE_VERSION:
        print(f"installing npm {NODE_PACKAGE}@{NODE_VERSION} into {folder} ...", file=sys.stderr)
        try:
            subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(folder),
                    "--no-save",
                    "--no-package-lock",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",  # nothing of the package runs but the library itself
                    "--loglevel=error",
                    f"{NODE_PACKAGE}@{NODE_VERSION}",
                ],
                check=True,
                stdout=sys.stderr,  # npm's summary is not the caller's output
            )
        except (OSError, subprocess.CalledProcessError) as error:
            print(f"npm could not install {NODE_PACKAGE}: {error}", file=sys.stderr)
            return None
        if installed_version(folder) != NODE_VERSION:
            print(f"npm did not install {NODE_PACKAGE} {NODE_VERSION}", file=sys.stderr)
            return None
    return node


if __name__ == "__main__":
    sys.exit(0 if install() else 1)

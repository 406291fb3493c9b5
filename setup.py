"""Packaging for atlassian-jwt; metadata lives here, tool settings in pyproject.toml."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
# Read the version as text so that building never imports the package (or PyJWT).
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "atlassian_jwt" / "__init__.py").read_text(), re.M
).group(1)

EXTRAS = {
    # RS256 tokens: signed install/uninstall callbacks and Forge invocation tokens.
    "crypto": ["cryptography>=3.4"],
    # Signed outbound calls and acting as a user (integrations.requests_auth), and
    # RequestsTransport for the library's own calls when chosen (the standard library is the
    # default, installed or not).
    "requests": ["requests>=2.28"],
    # The same with httpx (integrations.httpx_auth: sync and async auths, HTTPXTransport and
    # AsyncHTTPXTransport). httpx before 0.24 imports cgi, which Python 3.13 removed.
    "httpx": ["httpx>=0.24"],
    # The same with httpx2, httpx's successor, which needs Python 3.11 or later (on older
    # Pythons this extra installs nothing: use the httpx extra there).
    "httpx2": ['httpx2>=2.16; python_version >= "3.11"'],
    # Tenant storage on a database server: atlassian_jwt.integrations.sqlalchemy_store.
    "sqlalchemy": ["SQLAlchemy>=2.0"],
    "postgres": ["SQLAlchemy>=2.0", "psycopg[binary]>=3.1"],
    # Incoming-request helpers and lifecycle routes; lower bounds are releases that run on 3.9.
    "flask": ["Flask>=2.3"],
    "django": ["Django>=4.2"],
    "starlette": ["starlette>=0.37"],
    # python-multipart parses the Form() bodies that include_form_body routes hash.
    "fastapi": ["fastapi>=0.110", "python-multipart>=0.0.9"],
    # The testing kit, atlassian_jwt.testing: RSA keys for its fake key server and JWKS, its
    # clock (time-machine 2.19, the last release for Python 3.9, is the oldest tested), its
    # pytest plugin.
    "testing": ["cryptography>=3.4", "time-machine>=2.19", "pytest>=7"],
}
# The home of the atlassian-jwt distribution, whose name this release keeps.
REPOSITORY = "https://bitbucket.org/atlassian/atlassian-jwt-py"
PROJECT_URLS = {
    "Documentation": "https://atlassian-jwt.readthedocs.io/",
    "Source": REPOSITORY,
    "Issues": f"{REPOSITORY}/issues",
    "Changelog": f"{REPOSITORY}/src/master/CHANGELOG.rst",
}

EXTRAS["all"] = sorted({requirement for extra in EXTRAS.values() for requirement in extra})

setup(
    name="atlassian-jwt",
    version=VERSION,
    description="Sign and verify Atlassian Connect JWTs, with Atlassian's exact query string hash",
    long_description=(HERE / "README.rst").read_text(encoding="utf-8"),
    long_description_content_type="text/x-rst",
    license_expression="MIT",
    license_files=["LICENSE"],
    project_urls=PROJECT_URLS,
    keywords="jwt atlassian connect forge qsh query string hash pyjwt jira confluence",
    packages=find_packages(include=["atlassian_jwt", "atlassian_jwt.*"]),
    package_data={"atlassian_jwt": ["py.typed"]},
    python_requires=">=3.9",
    # 2.4.0 fixed CVE-2022-29217 (algorithm confusion); 2.10.1 fixed CVE-2024-53861 (a partial
    # match of "iss", which the Forge verifier relies on) and is the first release whose claim
    # checks reject an "iat" in the future on every Python we support.
    install_requires=["PyJWT>=2.10.1,<3"],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["atlassian-jwt = atlassian_jwt.cli:main"]},
    classifiers=[
        "Development Status :: 4 - Beta",
        "Intended Audience :: Developers",
        "Operating System :: OS Independent",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Topic :: Internet :: WWW/HTTP",
        "Topic :: Security",
        "Typing :: Typed",
    ],
)

"""Serve the example app: ``python -m examples.flask_app [--host H] [--port P]``.

Expose it to Jira through an HTTPS tunnel and set ``APP_BASE_URL`` to the tunnel's URL, then
install ``$APP_BASE_URL/atlassian-connect.json`` in Jira (Settings, Apps, Upload app), or deploy
``manifest.yml`` with the Forge CLI (with the tunnel's URL as the remote's ``baseUrl``, and
``FORGE_APP_ID`` the app's id). Without ``APP_BASE_URL`` the base URL is the address served,
which is what the end-to-end test uses (``--port 0`` picks a free port), with ``FORGE_JWKS`` and
``ATLASSIAN_INSTALL_KEYS`` naming its own key servers.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import Settings, create_app


class RedactingRequestHandler(WSGIRequestHandler):
    """Logs each request without its query string: an iframe's ``?jwt=`` is a credential."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.partition("?")[0]
        self.log("info", '"%s %s" %s %s', self.command, path, code, size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.flask_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    # Bind first, so that with --port 0 the app is built with the port actually served.
    app: dict[str, Any] = {}
    server = make_server(
        args.host,
        args.port,
        lambda environ, start_response: app["wsgi"](environ, start_response),
        threaded=True,
        request_handler=RedactingRequestHandler,
    )
    served = f"http://{args.host}:{server.server_port}"
    settings = Settings.from_env(base_url=served)
    app["wsgi"] = create_app(settings)
    print(
        f"Serving on {served}; descriptor: {settings.base_url}/atlassian-connect.json", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()

"""A complete Atlassian Connect app on Flask: run it with ``python -m examples.flask_app``."""

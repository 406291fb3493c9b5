"""A Connect-on-Forge app for Jira on Flask: run it with ``python -m examples.flask_app``."""

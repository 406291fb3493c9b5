"""Optional integrations with HTTP clients and web frameworks, each behind its own extra."""

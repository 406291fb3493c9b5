"""Optional adapters for HTTP clients and web frameworks; each needs its own extra."""

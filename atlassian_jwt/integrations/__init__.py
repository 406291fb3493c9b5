"""Optional adapters between atlassian_jwt and other libraries, each behind its own extra."""

"""Local stand-ins for outside services, for tests (loopback only)."""

"""Fixtures that start the embedded sandbox cluster for tests."""

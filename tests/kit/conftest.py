"""Fixtures of the conformance kit's own tests."""

pytest_plugins = ["pytester"]

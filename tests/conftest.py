"""Shared test configuration: the pytester plugin (the conformance kit tests run pytest inside
pytest). A plugin can only be enabled from this top-level conftest."""

pytest_plugins = ["pytester"]

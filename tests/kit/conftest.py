"""Tests of the conformance kit itself (pytester is enabled in tests/conftest.py)."""

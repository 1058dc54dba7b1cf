"""Tooling for the manual that is neither a test nor a benchmark: the dashboard's screenshots."""

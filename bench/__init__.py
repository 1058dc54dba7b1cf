"""Benchmarks, run by hand (`make bench-serve`); they print tables and write JSON, never assert."""

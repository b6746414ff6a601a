"""Benchmarks: each measures a path against a baseline in the same run and prints the ratio."""

"""Benchmarks for Inferloop Synthetic Data: one command each, results in `results/`."""

"""Internals of `engine.fidelity`: one module per measure, all on canonical frames."""

"""Internals of the "chain" synthesizer: column tokens, exported trees, the column order."""

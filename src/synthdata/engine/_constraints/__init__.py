"""Internals of `synthdata.engine.constraints`."""

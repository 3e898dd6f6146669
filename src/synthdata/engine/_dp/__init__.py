"""Internals of the differentially private synthesizer (`engine.dp`)."""

"""Defaults of the engine that help texts show, kept apart so that showing them is cheap.

This module and `kinds` import nothing heavy: the command line renders its help from
them without loading NumPy or pandas. The modules that use the values re-export them.
"""

DEFAULT_MAX_INPUT_BYTES = 2 * 1024**3
"""Input files larger than this are refused unless a larger limit (or none) is given."""

DEFAULT_HOLDOUT_SHARE = 0.3
"""Share of the real rows the command line sets aside as a holdout when none is given."""

DEFAULT_MIN_VALUE_COUNT = 5
"""k: a category held by fewer real rows than this is never written (engine/rare.py)."""

DEFAULT_N_ATTACKS = 500
"""Attacks per anonymeter evaluator in `evaluate --privacy` (seconds on 5,000 rows)."""

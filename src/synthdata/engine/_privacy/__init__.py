"""Attack-based privacy measures: anonymeter's three attacks and membership inference."""

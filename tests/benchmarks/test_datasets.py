"""The benchmark table is what DESIGN.md section 6 describes, and deterministic."""

from __future__ import annotations

import pandas as pd
from benchmarks.datasets import make_mixed_table


def test_mixed_table_is_seeded_and_has_the_hierarchy() -> None:
    first = make_mixed_table(5000, seed=3)
    pd.testing.assert_frame_equal(first, make_mixed_table(5000, seed=3))
    assert not first.equals(make_mixed_table(5000, seed=4))
    assert first.shape == (5000, 12)
    assert (first.groupby("city")["region"].nunique() == 1).all()
    assert first["region"].nunique() == 5 and first["city"].nunique() > 40
    nullable = first.isna().mean()
    assert ((nullable > 0.03) & (nullable < 0.07)).sum() >= 4
    assert str(first["last_login"].dt.tz) == "UTC"

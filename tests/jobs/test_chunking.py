"""Planning row ranges and joining part files."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthdata.jobs.chunking import ChunkPlan, join_parts, plan_chunks


def test_plan_covers_every_row_once():
    assert plan_chunks(25, 10) == [ChunkPlan(0, 0, 10), ChunkPlan(1, 10, 10), ChunkPlan(2, 20, 5)]
    assert plan_chunks(3, 10) == [ChunkPlan(0, 0, 3)]
    with pytest.raises(ValueError):
        plan_chunks(0, 10)


def test_join_csv_keeps_one_header_even_with_quoted_newlines(tmp_path):
    parts = []
    for i in range(3):
        part = tmp_path / f"p{i}.csv"
        part.write_text(f'"multi\nline",b\n{i},x\n')
        parts.append(part)
    out = join_parts(parts, tmp_path / "result.csv", "csv")
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["multi\nline", "b"] and frame.iloc[:, 0].tolist() == [0, 1, 2]


def test_join_parquet_unifies_all_null_parts(tmp_path):
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(pa.table({"v": pa.array([None, None], type=pa.null())}), first)
    pq.write_table(pa.table({"v": ["x", "y"]}), second)
    out = join_parts([first, second], tmp_path / "r.parquet", "parquet")
    assert pq.read_table(out).column("v").to_pylist() == [None, None, "x", "y"]


def test_single_part_is_renamed(tmp_path):
    part = tmp_path / "p.csv"
    part.write_text("a\n1\n")
    out = join_parts([part], tmp_path / "r.csv", "csv")
    assert out.read_text() == "a\n1\n" and not part.exists()

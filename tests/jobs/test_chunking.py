"""Planning row ranges, and streaming the parts of a result back as one file."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthdata.jobs import chunking
from synthdata.jobs.chunking import ChunkPlan, plan_chunks, stream_parts


def _opener(folder: Path) -> chunking.OpenPart:
    return lambda key: (folder / key).open("rb")


def test_plan_covers_every_row_once():
    assert plan_chunks(25, 10) == [ChunkPlan(0, 0, 10), ChunkPlan(1, 10, 10), ChunkPlan(2, 20, 5)]
    assert plan_chunks(3, 10) == [ChunkPlan(0, 0, 3)]
    with pytest.raises(ValueError):
        plan_chunks(0, 10)


def test_csv_stream_keeps_one_header_even_with_quoted_newlines(tmp_path):
    for i in range(3):
        (tmp_path / f"p{i}.csv").write_text(f'"multi\nline",b\n{i},x\n')
    data = b"".join(stream_parts(["p0.csv", "p1.csv", "p2.csv"], "csv", _opener(tmp_path)))
    frame = pd.read_csv(io.BytesIO(data))
    assert list(frame.columns) == ["multi\nline", "b"] and frame.iloc[:, 0].tolist() == [0, 1, 2]


def test_csv_stream_finds_a_header_longer_than_one_block(tmp_path, monkeypatch):
    monkeypatch.setattr(chunking, "_BLOCK", 4)
    for i in range(2):
        (tmp_path / f"p{i}.csv").write_text(f"alpha,beta,gamma\n{i},{i},{i}\n")
    data = b"".join(stream_parts(["p0.csv", "p1.csv"], "csv", _opener(tmp_path)))
    assert data == b"alpha,beta,gamma\n0,0,0\n1,1,1\n"


def test_parquet_stream_unifies_all_null_parts_row_group_by_row_group(tmp_path):
    pq.write_table(pa.table({"v": pa.array([None, None], type=pa.null())}), tmp_path / "a")
    pq.write_table(pa.table({"v": ["x", "y", "z"]}), tmp_path / "b", row_group_size=2)
    blocks = list(stream_parts(["a", "b"], "parquet", _opener(tmp_path)))
    handle = pq.ParquetFile(io.BytesIO(b"".join(blocks)))
    assert handle.read().column("v").to_pylist() == [None, None, "x", "y", "z"]
    # Each part's row groups are kept (and sent as they are written, not at the end).
    assert handle.num_row_groups == 3 and len(blocks) > 2


def test_no_parts_is_an_error(tmp_path):
    with pytest.raises(ValueError):
        stream_parts([], "csv", _opener(tmp_path))

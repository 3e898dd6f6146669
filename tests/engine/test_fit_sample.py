"""Fitting from tables larger than memory (issue 16): a seeded uniform sample of at
most `FitLimits.max_rows` rows, read in bounded memory from a file or any pyarrow
filesystem, with the rows read and used recorded in the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from scipy import stats

import synthdata
from synthdata.engine.loading import FitLimits, sample_for_fit
from synthdata.engine.model_format import load_model
from synthdata.engine.table_scan import TableSource

ROWS = 120_000
CAP = 6_000
MB = 1024**2


def _table(start: int, rows: int) -> pa.Table:
    idx = np.arange(start, start + rows)
    return pa.table(
        {"idx": idx, "x": (idx * 7919 % 1000) / 1000.0, "city": np.array(["a", "b", "c"])[idx % 3]}
    )


def _write(path: Path, rows: int = ROWS) -> Path:
    table = _table(0, rows)
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path, row_group_size=10_000)
    return path


@pytest.fixture(params=["csv", "parquet"])
def table_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return _write(tmp_path / f"rows.{request.param}")


def _idx(source: Path | TableSource, seed: int = 0, cap: int = CAP) -> np.ndarray:
    sample = sample_for_fit(source, FitLimits(max_rows=cap, seed=seed))
    return sample.frame["idx"].to_numpy()


def test_a_table_over_the_cap_gives_exactly_the_cap(table_file: Path) -> None:
    sample = sample_for_fit(table_file, FitLimits(max_rows=CAP))
    assert (sample.rows_seen, sample.rows_used, len(sample.frame)) == (ROWS, CAP, CAP)
    idx = sample.frame["idx"].to_numpy()
    assert len(np.unique(idx)) == CAP  # without replacement
    assert np.all(np.diff(idx) > 0)  # in file order
    assert set(sample.frame.columns) == {"idx", "x", "city"}


def test_same_seed_same_sample_whatever_the_format_or_batch_sizes(tmp_path: Path) -> None:
    csv = _idx(_write(tmp_path / "rows.csv"), seed=7)
    parquet = _idx(_write(tmp_path / "rows.parquet"), seed=7)
    # CSV blocks and Parquet batches cut the rows differently; the keys do not care.
    assert np.array_equal(csv, parquet)
    assert np.array_equal(_idx(tmp_path / "rows.parquet", seed=7), parquet)
    other = _idx(tmp_path / "rows.parquet", seed=8)
    assert len(np.intersect1d(other, parquet)) < CAP // 5  # another seed, another sample


def test_the_sample_is_uniform_over_the_table(table_file: Path) -> None:
    idx = _idx(table_file, seed=3)
    counts = np.histogram(idx, bins=20, range=(0, ROWS))[0]
    assert stats.chisquare(counts).pvalue > 0.01, counts
    assert stats.kstest(idx / ROWS, "uniform").pvalue > 0.01


def test_a_table_within_the_cap_is_kept_whole_in_order(tmp_path: Path) -> None:
    sample = sample_for_fit(_write(tmp_path / "small.parquet", 5_000), FitLimits(max_rows=CAP))
    assert sample.rows_seen == sample.rows_used == 5_000
    assert sample.frame["idx"].tolist() == list(range(5_000))


def test_a_folder_of_parts_in_a_filesystem_is_one_table(tmp_path: Path) -> None:
    whole = _write(tmp_path / "whole.parquet")
    parts = tmp_path / "store" / "jobs" / "j1" / "parts"
    parts.mkdir(parents=True)
    for index, start in enumerate(range(0, ROWS, 40_000)):
        pq.write_table(_table(start, 40_000), parts / f"part-{index:05d}.parquet")
    (parts / "_SUCCESS").write_bytes(b"")  # skipped, as Arrow's dataset discovery does
    filesystem = pafs.SubTreeFileSystem(str(tmp_path / "store"), pafs.LocalFileSystem())
    source = TableSource(filesystem, "jobs/j1/parts")
    sample = sample_for_fit(source, FitLimits(max_rows=CAP, seed=5))
    assert (sample.rows_seen, sample.rows_used) == (ROWS, CAP)
    assert np.array_equal(sample.frame["idx"].to_numpy(), _idx(whole, seed=5))


def test_rows_are_capped_by_memory_measured_per_row(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    text = pa.array(["x" * 1_000] * 50_000)
    pq.write_table(pa.table({"idx": np.arange(50_000), "payload": text}), path)
    limits = FitLimits(max_rows=10**9, memory_mb=256)
    sample = sample_for_fit(path, limits)
    # A quarter of (256 - 128) MB of rows of 1,012 bytes (text, its offset, an int64).
    assert limits.sample_bytes == 32 * MB
    assert sample.rows_seen == 50_000
    assert sample.rows_used == pytest.approx(limits.sample_bytes / 1_012, rel=0.02)


def test_a_csv_row_longer_than_a_block_is_read(tmp_path: Path) -> None:
    """CSV is read in 1 MiB blocks to bound memory; a 3 MB row is read in larger ones."""
    path = tmp_path / "long.csv"
    path.write_text(
        "a,b\n" + "".join(f"{i},{'x' * (3_000_000 if i == 70 else 9)}\n" for i in range(99))
    )
    for source in (path, TableSource.local(path)):
        sample = sample_for_fit(source, FitLimits(max_rows=50))
        assert (sample.rows_seen, sample.rows_used) == (99, 50)


def test_the_model_records_rows_seen_and_used(tmp_path: Path) -> None:
    path = _write(tmp_path / "rows.parquet", 20_000)
    model = synthdata.fit(path, synthesizer="copula", fit_limits=FitLimits(max_rows=2_000))
    assert (model.rows_seen, model.fitted_rows) == (20_000, 2_000)
    loaded = load_model(model.save(tmp_path / "m.synth"))
    assert (loaded.rows_seen, loaded.fitted_rows) == (20_000, 2_000)
    assert len(model.sample(100, seed=1)) == 100


# Peak RSS from VmHWM, the high-water mark of this process's own memory map: getrusage's
# ru_maxrss also keeps the parent's RSS at fork time across exec (Linux), which would
# charge pytest's own memory to the reader.
_MEASURE = """
import json, resource, sys
from synthdata.engine.loading import FitLimits, sample_for_fit
def status(field):
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024
base = status("VmRSS")
sample = sample_for_fit(sys.argv[1], FitLimits(max_rows=10**9, memory_mb=int(sys.argv[2])))
peak = status("VmHWM")
print(json.dumps({"seen": sample.rows_seen, "used": sample.rows_used, "grew": peak - base}))
"""


def _wide_parquet(path: Path, rows: int) -> Path:
    """About 1 KB a row decoded (a few MB on disk: the long values repeat)."""
    words = pa.array([f"{i:02d}" * 500 for i in range(16)])
    rng = np.random.default_rng(1)
    schema = pa.schema([("idx", pa.int64()), ("payload", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, 100_000):
            n = min(100_000, rows - start)
            payload = words.take(pa.array(rng.integers(0, 16, n)))
            writer.write_table(pa.table({"idx": np.arange(start, start + n), "payload": payload}))
    return path


def _wide_csv(path: Path, rows: int) -> Path:
    words = [f"w{i:02d}" * 333 for i in range(16)]
    with path.open("w") as out:
        out.write("idx,payload\n")
        for start in range(0, rows, 50_000):
            out.write(
                "".join(f"{i},{words[i % 16]}\n" for i in range(start, min(rows, start + 50_000)))
            )
    return path


@pytest.mark.parametrize(
    ("make", "name", "rows"),
    [(_wide_parquet, "wide.parquet", 2_000_000), (_wide_csv, "wide.csv", 700_000)],
)
def test_peak_memory_stays_within_the_setting(make, name: str, rows: int, tmp_path: Path) -> None:
    """2 GB (Parquet) and 0.7 GB (CSV) of decoded rows read within a 256 MB budget."""
    budget_mb = 256
    path = make(tmp_path / name, rows)
    assert rows * 1_000 >= 2 * budget_mb * MB  # the table itself would not fit
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), str(budget_mb)],
        capture_output=True,
        text=True,
        check=True,
    )
    measured = json.loads(done.stdout)
    assert measured["seen"] == rows
    assert 0 < measured["used"] < rows // 4
    assert measured["grew"] < budget_mb * MB, measured

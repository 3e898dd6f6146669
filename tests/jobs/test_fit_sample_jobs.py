"""A job fits on a sample within the `fit_max_rows` / `fit_memory_mb` settings, from
a local file or straight from the object store (Arrow reads it, nothing is copied)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.fixtures.objectstore import s3_server, s3_store  # noqa: F401

from synthdata.artifacts import S3Store
from synthdata.engine.loading import FitLimits, sample_for_fit
from synthdata.engine.model_format import load_model
from synthdata.engine.table_scan import TableSource
from synthdata.jobs.model_cache import cache_key
from synthdata.jobs.training import fit_limits, fit_to_file
from synthdata.service.core.settings import Settings

ROWS = 30_000


def _dataset(path: Path) -> Path:
    idx = np.arange(ROWS)
    table = pa.table({"idx": idx, "x": np.sin(idx), "kind": np.array(["p", "q"])[idx % 2]})
    pq.write_table(table, path, row_group_size=7_000)
    return path


def test_settings_give_the_fit_limits(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, fit_max_rows=2_500, fit_memory_mb=300)
    assert fit_limits(settings) == FitLimits(max_rows=2_500, memory_mb=300, seed=0)
    assert fit_limits(Settings(home=tmp_path)) == FitLimits()  # defaults agree
    with pytest.raises(ValueError, match="fit_memory_mb"):
        Settings(home=tmp_path, fit_memory_mb=100)


def test_a_job_fit_uses_the_sample_and_says_so_in_the_model(tmp_path: Path) -> None:
    source = _dataset(tmp_path / "data.parquet")
    limits = fit_limits(Settings(home=tmp_path, fit_max_rows=2_500))
    fit_to_file(source, tmp_path / "model.synth", "copula", limits=limits)
    model = load_model(tmp_path / "model.synth")
    assert (model.rows_seen, model.fitted_rows) == (ROWS, 2_500)


def test_the_cache_key_names_limits_other_than_the_defaults(tmp_path: Path) -> None:
    source = _dataset(tmp_path / "data.parquet")
    default = cache_key("d1", source, "copula")
    assert cache_key("d1", source, "copula", limits=FitLimits()) == default
    assert cache_key("d1", source, "copula", limits=FitLimits(max_rows=10)) != default


def test_fit_reads_the_dataset_from_the_object_store(
    s3_store: S3Store,  # noqa: F811
    tmp_path: Path,
) -> None:
    local = _dataset(tmp_path / "data.parquet")
    key = "customers/c1/datasets/d1/data.parquet"
    s3_store.put_file(local, key)
    filesystem, base = s3_store.arrow_filesystem()
    remote = TableSource(filesystem, f"{base}/{key}")
    limits = FitLimits(max_rows=2_500, seed=4)
    from_store = sample_for_fit(remote, limits)
    assert (from_store.rows_seen, from_store.rows_used) == (ROWS, 2_500)
    assert from_store.frame.equals(sample_for_fit(local, limits).frame)
    fit_to_file(remote, tmp_path / "model.synth", "copula", limits=limits)
    model = load_model(tmp_path / "model.synth")
    assert (model.rows_seen, model.fitted_rows) == (ROWS, 2_500)

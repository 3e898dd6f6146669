"""Bundles of tables: folders and zips of CSV/Parquet files, read and written."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

import synthdata
from synthdata.relational import RelationalError, read_bundle, write_bundle
from tests.relational.shop_tables import shop


def _same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert sorted(a) == sorted(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=False)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_folder_round_trip(tmp_path: Path, fmt: str) -> None:
    tables = shop(customers=60)
    folder = write_bundle(tables, tmp_path / "shop", fmt=fmt)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.{fmt}" for n in tables)
    _same(read_bundle(folder), tables)


def test_zip_round_trip_ignores_other_files(tmp_path: Path) -> None:
    tables = shop(customers=60)
    path = write_bundle(tables, tmp_path / "shop.zip")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("README.txt", "not a table")
        archive.writestr("__MACOSX/._orders.csv", "resource fork")
    _same(read_bundle(path), tables)


def test_fit_tables_reads_a_bundle_and_keeps_codes_as_text(tmp_path: Path) -> None:
    tables = shop(customers=80)
    tables["products"] = tables["products"].assign(sku=[f"0{i:02d}" for i in range(32)])
    tables["lines"] = tables["lines"].assign(
        sku=tables["lines"]["sku"].map(
            dict(zip(shop(customers=80)["products"]["sku"], tables["products"]["sku"], strict=True))
        )
    )
    path = write_bundle(tables, tmp_path / "shop.zip")
    model = synthdata.fit_tables(path, seed=1)
    assert model.metadata.tables["products"].primary_key == ("sku",)
    fake = model.sample(seed=1)
    assert fake["products"]["sku"].str.fullmatch(r"\d{3}").all()  # "007", not 7
    out = write_bundle(fake, tmp_path / "out")
    assert read_bundle(out)["lines"]["sku"].isin(fake["products"]["sku"]).all()


def test_bad_bundles_are_refused_with_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    cases = [
        (tmp_path / "missing", "not found"),
        (empty, "holds no CSV or Parquet files"),
    ]
    not_zip = tmp_path / "tables.zip"
    not_zip.write_text("plain text")
    cases.append((not_zip, "folder or a .zip"))
    for path, words in cases:
        with pytest.raises(RelationalError) as caught:
            read_bundle(path)
        assert words in str(caught.value) and "\n" not in str(caught.value)

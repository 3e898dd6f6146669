"""`synthdata inspect|generate|evaluate` on a folder or a zip of linked tables, end to end:
real files, the real command line; every bad bundle is one line and exit code 2."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from synthdata.cli.main import app
from synthdata.relational import Metadata, read_bundle

runner = CliRunner()

CUSTOMERS = 120
ORDERS = 360


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SYNTHDATA_DEBUG", raising=False)
    monkeypatch.delenv("SYNTHDATA_MAX_INPUT_BYTES", raising=False)


def _tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(11)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, CUSTOMERS + 1),
            "country": rng.choice(["NO", "PE", "IN"], CUSTOMERS),
            "age": rng.integers(18, 80, CUSTOMERS),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(5000, 5000 + ORDERS),
            "customer_id": rng.choice(customers["customer_id"], ORDERS),
            "amount": rng.lognormal(3, 0.5, ORDERS).round(2),
            "status": rng.choice(["paid", "refunded"], ORDERS, p=[0.9, 0.1]),
        }
    )
    return {"customers": customers, "orders": orders}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A folder of two linked CSV tables: orders.customer_id -> customers.customer_id."""
    folder = tmp_path / "shop"
    folder.mkdir()
    for name, frame in _tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def shop_zip(tmp_path: Path) -> Path:
    """The same tables as a zip: customers as Parquet, orders as CSV."""
    tables = _tables()
    path = tmp_path / "shop.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("orders.csv", tables["orders"].to_csv(index=False))
        archive.writestr("customers.parquet", tables["customers"].to_parquet(index=False))
    return path


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """An empty folder for outputs, so that leftovers show."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def invoke(*args: str | Path) -> Result:
    return runner.invoke(app, [str(a) for a in args])


def assert_ok(result: Result) -> None:
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def assert_one_line_error(result: Result, fragment: str) -> None:
    """Exit 2, exactly one line on stderr naming the problem, nothing on stdout."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""


def assert_integrity(tables: dict[str, pd.DataFrame]) -> None:
    customers, orders = tables["customers"], tables["orders"]
    assert customers["customer_id"].is_unique and orders["order_id"].is_unique
    assert orders["customer_id"].notna().all()
    assert set(orders["customer_id"]) <= set(customers["customer_id"])


# -- inspect ------------------------------------------------------------------------------


def test_inspect_folder_prints_keys_links_and_kinds(shop: Path) -> None:
    result = invoke("inspect", shop)
    assert_ok(result)
    out = result.stdout
    assert "2 tables, 1 foreign key" in out
    for text in ("customers", "orders", "customer_id", "order_id", "primary key"):
        assert text in out
    assert "-> customers.customer_id" in out  # orders.customer_id's role
    assert "categorical" in out and "continuous" in out


def test_inspect_zip_json_and_saved_metadata_agree(shop_zip: Path, tmp_path: Path) -> None:
    saved = tmp_path / "meta.json"
    result = invoke("inspect", shop_zip, "--json", "--save-metadata", saved)
    assert_ok(result)
    document = json.loads(result.stdout)
    tables = {t["name"]: t for t in document["tables"]}
    assert {n: t["rows"] for n, t in tables.items()} == {"customers": CUSTOMERS, "orders": ORDERS}
    assert tables["customers"]["primary_key"] == ["customer_id"]
    assert tables["orders"]["primary_key"] == ["order_id"]
    assert document["foreign_keys"] == [
        {
            "child": "orders",
            "columns": ["customer_id"],
            "parent": "customers",
            "parent_columns": ["customer_id"],
        }
    ]
    kinds = {c["name"]: c["kind"] for c in tables["orders"]["columns"]}
    assert kinds["amount"] == "continuous" and kinds["status"] == "categorical"
    # The file --save-metadata wrote is the document's "metadata", and loads back.
    assert json.loads(saved.read_text()) == document["metadata"]
    assert Metadata.load(saved).foreign_keys[0].parent == "customers"


def test_inspect_metadata_override_shows_the_given_kind(shop: Path, tmp_path: Path) -> None:
    saved = tmp_path / "meta.json"
    assert_ok(invoke("inspect", shop, "--save-metadata", saved))
    data = json.loads(saved.read_text())
    data["tables"]["customers"]["kinds"] = {"age": "categorical"}
    saved.write_text(json.dumps(data))
    result = invoke("inspect", shop, "--json", "--metadata", saved)
    assert_ok(result)
    customers = next(t for t in json.loads(result.stdout)["tables"] if t["name"] == "customers")
    assert {c["name"]: c["kind"] for c in customers["columns"]}["age"] == "categorical"


def test_metadata_json_beside_the_tables_is_used(shop: Path, out_dir: Path) -> None:
    saved = shop / "metadata.json"
    assert_ok(invoke("inspect", shop, "--save-metadata", saved))
    data = json.loads(saved.read_text())
    data["tables"]["customers"]["kinds"] = {"age": "categorical"}
    saved.write_text(json.dumps(data))
    result = invoke("inspect", shop, "--json")
    assert_ok(result)
    assert "used the keys in shop/metadata.json" in result.stderr
    customers = next(t for t in json.loads(result.stdout)["tables"] if t["name"] == "customers")
    assert {c["name"]: c["kind"] for c in customers["columns"]}["age"] == "categorical"
    # The same folder zipped: the zip's metadata.json is read too, and a bad one refused.
    data["foreign_keys"][0]["columns"] = ["status"]
    bundle = out_dir / "shop.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        for file in shop.iterdir():
            archive.write(file, file.name)
        archive.writestr("metadata.json", json.dumps(data))
    assert_one_line_error(invoke("generate", bundle, "-o", out_dir / "s"), "holds text values")
    assert sorted(p.name for p in out_dir.iterdir()) == ["shop.zip"]


# -- generate -----------------------------------------------------------------------------


def test_generate_folder_at_half_scale_keeps_keys_joined(shop: Path, out_dir: Path) -> None:
    output = out_dir / "synthetic"
    result = invoke("generate", shop, "--scale", "0.5", "--output", output, "--seed", "4")
    assert_ok(result)
    assert sorted(p.name for p in output.iterdir()) == ["customers.csv", "orders.csv"]
    tables = read_bundle(output)
    assert len(tables["customers"]) == CUSTOMERS // 2
    assert 0.3 * ORDERS <= len(tables["orders"]) <= 0.7 * ORDERS
    assert list(tables["orders"].columns) == ["order_id", "customer_id", "amount", "status"]
    assert_integrity(tables)
    total = len(tables["customers"]) + len(tables["orders"])
    assert f"wrote 2 tables, {total:,} synthetic rows in all" in result.stderr


def test_generate_zip_to_zip_is_reproducible(shop_zip: Path, out_dir: Path) -> None:
    first, second = out_dir / "a.zip", out_dir / "b.zip"
    for output in (first, second):
        assert_ok(invoke("generate", shop_zip, "-o", output, "--seed", "9", "-f", "parquet"))
    with zipfile.ZipFile(first) as archive:
        assert sorted(archive.namelist()) == ["customers.parquet", "orders.parquet"]
    tables, again = read_bundle(first), read_bundle(second)
    for name in tables:
        pd.testing.assert_frame_equal(tables[name], again[name])
    assert len(tables["customers"]) == CUSTOMERS  # scale 1 by default
    assert_integrity(tables)


def test_generate_with_saved_metadata(shop: Path, out_dir: Path, tmp_path: Path) -> None:
    saved = tmp_path / "meta.json"
    assert_ok(invoke("inspect", shop, "--save-metadata", saved))
    output = out_dir / "synthetic"
    result = invoke("generate", shop, "--metadata", saved, "--scale", "0.25", "-o", output)
    assert_ok(result)
    assert_integrity(read_bundle(output))


def test_single_table_generate_is_unchanged(shop: Path, out_dir: Path) -> None:
    output = out_dir / "orders.csv"
    result = invoke("generate", shop / "orders.csv", "--rows", "50", "-o", output, "--seed", "1")
    assert_ok(result)
    assert len(pd.read_csv(output)) == 50
    assert "wrote 50 synthetic rows" in result.stderr


# -- evaluate -----------------------------------------------------------------------------


def test_evaluate_folders_json_and_report(shop: Path, out_dir: Path) -> None:
    synthetic = out_dir / "synthetic"
    assert_ok(invoke("generate", shop, "-o", synthetic, "--seed", "2", "-q"))
    report = out_dir / "report.html"
    result = invoke("evaluate", shop, synthetic, "--json", "--report", report)
    assert_ok(result)
    scores = json.loads(result.stdout)
    assert set(scores["tables"]) == {"customers", "orders"}
    assert scores["referential_integrity"] == {"orders.customer_id->customers": 1.0}
    assert 0.0 <= scores["cardinality"]["orders.customer_id->customers"] <= 1.0
    assert report.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    table = invoke("evaluate", shop, synthetic)
    assert_ok(table)
    assert (
        "Referential integrity" in table.stdout and "orders.customer_id->customers" in table.stdout
    )


# -- bad bundles: one line, exit code 2, nothing written ----------------------------------


def _metadata(foreign_keys: list[dict[str, object]], tables: Mapping[str, object]) -> str:
    return json.dumps({"tables": tables, "foreign_keys": foreign_keys})


_PKS = {"customers": {"primary_key": ["customer_id"]}, "orders": {"primary_key": ["order_id"]}}


def _fk(child: str, column: str, parent: str, parent_column: str) -> dict[str, object]:
    return {
        "child": child,
        "columns": [column],
        "parent": parent,
        "parent_columns": [parent_column],
    }


def _missing_parent(folder: Path) -> tuple[Path, str | None]:
    (folder / "customers.csv").unlink()
    return folder, _metadata([_fk("orders", "customer_id", "customers", "customer_id")], _PKS)


def _type_mismatch(folder: Path) -> tuple[Path, str | None]:
    return folder, _metadata([_fk("orders", "status", "customers", "customer_id")], _PKS)


def _cycle(folder: Path) -> tuple[Path, str | None]:
    frame = pd.read_csv(folder / "customers.csv")
    frame["first_order"] = 5000 + np.arange(len(frame))
    frame.to_csv(folder / "customers.csv", index=False)
    keys = [
        _fk("orders", "customer_id", "customers", "customer_id"),
        _fk("customers", "first_order", "orders", "order_id"),
    ]
    return folder, _metadata(keys, _PKS)


def _self_reference(folder: Path) -> tuple[Path, str | None]:
    return folder, _metadata([_fk("customers", "age", "customers", "customer_id")], _PKS)


def _empty_folder(folder: Path) -> tuple[Path, str | None]:
    empty = folder.parent / "empty"
    empty.mkdir()
    return empty, None


def _unreadable_file(folder: Path) -> tuple[Path, str | None]:
    (folder / "broken.csv").write_bytes(b"a,b\n1,2\n3,4,5\n6,7\n")
    return folder, None


def _not_a_zip(folder: Path) -> tuple[Path, str | None]:
    fake = folder.parent / "fake.zip"
    fake.write_bytes(b"this is not a zip archive")
    return fake, None


def _absent(folder: Path) -> tuple[Path, str | None]:
    return folder.parent / "absent.zip", None


def _bad_metadata_json(folder: Path) -> tuple[Path, str | None]:
    return folder, "{not json"


BAD_BUNDLES: dict[str, tuple[Callable[[Path], tuple[Path, str | None]], str]] = {
    "missing parent table": (_missing_parent, "'customers'"),
    "key type mismatch": (_type_mismatch, "holds text values but customers.customer_id holds"),
    "cyclic references": (_cycle, "cycle"),
    "self-reference": (_self_reference, "references its own table"),
    "empty folder": (_empty_folder, "holds no CSV or Parquet files"),
    "unreadable file": (_unreadable_file, "broken"),
    "not a zip": (_not_a_zip, "fake.zip"),
    "absent": (_absent, "absent.zip"),
    "metadata not JSON": (_bad_metadata_json, "metadata is not JSON"),
}


@pytest.mark.parametrize("command", ["generate", "inspect"])
@pytest.mark.parametrize("case", list(BAD_BUNDLES))
def test_bad_bundle_is_one_line(
    case: str, command: str, shop: Path, out_dir: Path, tmp_path: Path
) -> None:
    make, fragment = BAD_BUNDLES[case]
    source, metadata = make(shop)
    extra: list[str | Path] = []
    if metadata is not None:
        meta = tmp_path / "meta.json"
        meta.write_text(metadata)
        extra = ["--metadata", meta]
    if command == "generate":
        extra += ["--output", out_dir / "synthetic"]
    result = invoke(command, source, *extra)
    assert_one_line_error(result, fragment)
    assert list(out_dir.iterdir()) == []


def test_evaluate_bad_bundle_is_one_line(shop: Path, tmp_path: Path) -> None:
    _unreadable_file(shop)
    result = invoke("evaluate", shop, shop)
    assert_one_line_error(result, "broken")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--rows", "10"], "--rows (use --scale) does not apply to a folder or zip of tables"),
        (["--scale", "0"], "--scale must be greater than 0"),
        (["--scale", "-1"], "--scale must be greater than 0"),
        (["--scale", "nan"], "--scale must be greater than 0"),
        (["--format", "xlsx"], "unsupported file format 'xlsx'"),
        (["--synthesizer", "copula"], "--synthesizer does not apply"),
        (["--metadata", "absent.json"], "metadata file not found"),
    ],
)
def test_generate_bad_option_on_tables(
    shop: Path, out_dir: Path, args: list[str], fragment: str
) -> None:
    result = invoke("generate", shop, "--output", out_dir / "synthetic", *args)
    assert_one_line_error(result, fragment)
    assert list(out_dir.iterdir()) == []


def test_generate_output_folder_must_have_a_parent(shop: Path, tmp_path: Path) -> None:
    result = invoke("generate", shop, "--output", tmp_path / "nowhere" / "synthetic")
    assert_one_line_error(result, "output directory does not exist")


def test_table_options_refused_on_one_file(shop: Path, out_dir: Path) -> None:
    table = shop / "orders.csv"
    result = invoke("generate", table, "--rows", "5", "--scale", "2", "-o", out_dir / "x.csv")
    assert_one_line_error(result, "--scale does not apply to a single table")
    assert_one_line_error(
        invoke("inspect", table, "--save-metadata", out_dir / "m.json"), "--save-metadata"
    )
    assert list(out_dir.iterdir()) == []


def test_evaluate_folder_against_a_file(shop: Path) -> None:
    result = invoke("evaluate", shop, shop / "orders.csv")
    assert_one_line_error(result, "SYNTHETIC must be one too")

"""Tables that are small on disk and huge decoded, and CSVs with a quote left open.

Issue 13, items 1 (row bombs: memory follows the rows kept, never the rows in the
file; Parquet row counts checked from the footer before reading) and 20 (an
unterminated quote is refused with its line number, not read as one huge row).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import synthdata
from synthdata.cli.main import app as cli_app
from synthdata.engine.errors import InputError
from synthdata.engine.io import iter_batches
from synthdata.engine.loading import load_for_fit
from synthdata.service.app import create_app


def _row_bomb(path: Path, rows: int) -> Path:
    """A Parquet file of a few kilobytes that decodes to `rows` rows."""
    zeros = pa.array(np.zeros(rows, dtype=np.int64))
    table = pa.table({"n": zeros, "x": pa.array(np.ones(rows)), "city": pa.array(["Lyon"] * rows)})
    pq.write_table(table, path, compression="zstd", row_group_size=rows)
    return path


def test_parquet_row_bomb_is_sampled_by_rows_not_file_size(tmp_path: Path) -> None:
    bomb = _row_bomb(tmp_path / "bomb.parquet", 2_000_000)
    assert bomb.stat().st_size < 200_000  # far below any size-based threshold
    frame = load_for_fit(bomb, None, sample_rows=20_000)
    assert len(frame) == 20_000
    assert list(frame.columns) == ["n", "x", "city"]


def test_csv_with_many_rows_is_sampled_too(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_bytes(b"a,b\n" + b"".join(b"%d,x\n" % i for i in range(300_000)))
    frame = load_for_fit(path, None, sample_rows=5_000, seed=3)
    assert len(frame) == 5_000
    assert frame["a"].is_monotonic_increasing  # rows kept in file order
    assert frame["a"].nunique() == 5_000  # without replacement
    # Uniform over the file, not its head: rows from every tenth of it.
    assert np.histogram(frame["a"], bins=10, range=(0, 300_000))[0].min() > 350


def test_wide_rows_are_sampled_by_decoded_bytes(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    rows = 20_000
    pq.write_table(pa.table({f"c{i}": np.arange(rows) for i in range(50)}), path)
    # 50 int64 columns: 400 bytes a row, so 400 kB holds about 1,000 of them.
    frame = load_for_fit(path, None, sample_rows=rows, sample_bytes=400_000)
    assert 500 <= len(frame) <= 1_000


def test_small_table_is_read_whole_and_in_order(tmp_path: Path) -> None:
    path = tmp_path / "small.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(1_000)))
    frame = load_for_fit(path, None)
    assert frame["a"].tolist() == list(range(1_000))


def test_upload_of_a_parquet_bomb_is_refused_from_its_footer(settings_for, alice) -> None:
    settings = settings_for(max_dataset_rows=1_000_000)
    with TestClient(create_app(settings, workers=0)) as client:
        bomb = _row_bomb(settings.data_dir.parent / "bomb.parquet", 5_000_000)
        response = client.post(
            "/api/v1/datasets",
            headers=alice.headers,
            files={"file": ("bomb.parquet", bomb.read_bytes(), "application/octet-stream")},
        )
        assert response.status_code == 422, response.text
        detail = response.json()["detail"]
        assert "5,000,000 rows" in detail and "1,000,000" in detail, detail
        assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []


def test_parquet_upload_counts_rows_from_the_footer(client, alice, tmp_path: Path) -> None:
    table = _row_bomb(tmp_path / "t.parquet", 250_000)
    response = client.post(
        "/api/v1/datasets",
        headers=alice.headers,
        files={"file": ("t.parquet", table.read_bytes(), "application/octet-stream")},
    )
    assert response.status_code == 201, response.text
    assert (response.json()["rows"], response.json()["columns"]) == (250_000, 3)


# -- unterminated quotes (item 20) ----------------------------------------------------------
OPEN_QUOTE = b'id,city\n1,Paris\n2,"Lyon\n3,Nice\n4,Lille\n'


def test_upload_with_an_unterminated_quote_is_422_with_its_line(client, alice) -> None:
    response = client.post(
        "/api/v1/datasets", headers=alice.headers, files={"file": ("q.csv", OPEN_QUOTE)}
    )
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("cannot read q.csv:") and "line 3" in detail, detail
    assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []


def test_sdk_and_cli_refuse_an_unterminated_quote(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(OPEN_QUOTE)
    with pytest.raises(InputError, match="line 3"):
        synthdata.read_table(path)
    with pytest.raises(InputError, match="line 3"):
        synthdata.fit(path)
    result = CliRunner().invoke(cli_app, ["schema", str(path)])
    assert result.exit_code == 2 and "line 3" in result.output, result.output


def test_open_quote_on_the_last_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tail.csv"
    path.write_bytes(b'id,city\n1,Paris\n2,"Lyon')  # no closing quote, no line break
    with pytest.raises(InputError, match="line 3"):
        synthdata.read_table(path)


def test_open_quote_early_in_a_large_file_names_its_line(tmp_path: Path) -> None:
    lines = [b"id,city"] + [b"%d,c%d" % (i, i) for i in range(20_000)]
    lines[120] = b'119,"oops'
    path = tmp_path / "long.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(InputError, match="line 121"):
        for _ in iter_batches(path, batch_bytes=16 * 1024):  # many blocks
            pass


def test_well_formed_quotes_still_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes(b'id,note\n1,"two\nlines"\n2,"a ""quoted"" word"\n3,x"y\n')
    frame = synthdata.read_table(path)
    assert frame["note"].tolist() == ["two\nlines", 'a "quoted" word', 'x"y']

"""Upload and request-body limits: columns, parts, bodies, a full disk, NUL bytes.

Issue 13, items 2 (column limit, no schema in lists), 4 (the whole body and the
number of form parts are bounded, chunked or not), 15 (a full disk answers 507 and
keeps nothing) and the upload part of 14 (a NUL byte in a file name or a name is 422).
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from synthdata.service.app import create_app
from tests.fixtures.service import make_settings

PROBLEM = "urn:synthdata:problem:"


def _wide_csv(columns: int, rows: int = 3) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    body = "".join(",".join(str(r + i) for i in range(columns)) + "\n" for r in range(rows))
    return (header + "\n" + body).encode()


def _stored_files(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file()] if data_dir.exists() else []


# -- item 2: columns ---------------------------------------------------------------------------
def test_too_many_columns_is_422_naming_the_limit_and_the_count(settings_for, alice) -> None:
    settings = settings_for(max_dataset_columns=50)
    with TestClient(create_app(settings, workers=0)) as client:
        csv = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("w.csv", _wide_csv(51))}
        )
        assert csv.status_code == 422, csv.text
        assert csv.json()["type"] == PROBLEM + "invalid-input"
        assert "51 columns" in csv.json()["detail"] and "limit of 50" in csv.json()["detail"]

        buffer = io.BytesIO()
        pd.DataFrame({f"c{i}": [1, 2] for i in range(60)}).to_parquet(buffer)
        parquet = client.post(
            "/api/v1/datasets",
            headers=alice.headers,
            files={"file": ("w.parquet", buffer.getvalue(), "application/octet-stream")},
        )
        assert parquet.status_code == 422, parquet.text
        assert "60 columns" in parquet.json()["detail"]

        at_limit = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("ok.csv", _wide_csv(50))}
        )
        assert at_limit.status_code == 201, at_limit.text
    datasets = [p for p in _stored_files(settings.data_dir) if "datasets" in p.parts]
    assert len(datasets) == 1


def test_lists_leave_the_schema_out(client, alice, upload) -> None:
    dataset = upload(alice, _wide_csv(40), "wide.csv")
    items = client.get("/api/v1/datasets", headers=alice.headers).json()["items"]
    assert [item["id"] for item in items] == [dataset["id"]]
    assert "schema" not in items[0] and items[0]["columns"] == 40
    one = client.get(f"/api/v1/datasets/{dataset['id']}", headers=alice.headers).json()
    assert len(one["schema"]["columns"]) == 40


# -- item 4: bodies and parts --------------------------------------------------------------------
def _form(*parts: tuple[str, bytes], boundary: str = "B0und") -> bytes:
    chunks = [
        f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n\r\n".encode()
        + value
        + b"\r\n"
        for disposition, value in parts
    ]
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


FORM = {"Content-Type": "multipart/form-data; boundary=B0und"}
FILE = ('name="file"; filename="t.csv"', b"a,b\n1,2\n3,4\n")


def test_many_text_fields_are_refused(client, alice) -> None:
    fields = [(f'name="f{i}"', b"x" * 1000) for i in range(200)]
    response = client.post(
        "/api/v1/datasets", headers={**alice.headers, **FORM}, content=_form(FILE, *fields)
    )
    assert response.status_code == 422, response.text
    assert response.json()["type"] == PROBLEM + "validation-error"
    assert "parts" in response.json()["detail"]
    assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []


def test_whole_upload_body_is_bounded_when_chunked(settings_for, alice) -> None:
    settings = settings_for(max_upload_bytes=1000)
    with TestClient(create_app(settings, workers=0)) as client:
        # A small, complete form, then bytes without end (the parser ignores them),
        # streamed with no Content-Length.
        def chunks() -> Iterator[bytes]:
            yield _form(FILE)
            for _ in range(2_000):
                yield b"z" * 1_000

        response = client.post(
            "/api/v1/datasets", headers={**alice.headers, **FORM}, content=chunks()
        )
        assert response.status_code == 413, response.text
        assert response.json()["type"] == PROBLEM + "payload-too-large"
        assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []
    assert not _stored_files(settings.data_dir / "datasets")


@pytest.mark.parametrize("chunked", [False, True])
def test_json_bodies_are_bounded(settings_for, alice, chunked: bool) -> None:
    settings = settings_for(max_request_body_bytes=10_000)
    body = b'{"rows": 5, "dataset_id": "' + b"d" * 20_000 + b'"}'
    with TestClient(create_app(settings, workers=0)) as client:
        content: bytes | Iterator[bytes] = body
        if chunked:
            content = iter([body[i : i + 1000] for i in range(0, len(body), 1000)])
        response = client.post(
            "/api/v1/jobs",
            headers={**alice.headers, "Content-Type": "application/json"},
            content=content,
        )
        assert response.status_code == 413, response.text
        assert response.json()["type"] == PROBLEM + "payload-too-large"
        assert "10,000 bytes" in response.json()["detail"]
        assert response.headers["x-request-id"]
        small = client.post(
            "/api/v1/jobs", headers=alice.headers, json={"rows": 5, "dataset_id": "ds_nope"}
        )
        assert small.status_code == 404, small.text


# -- item 14 (uploads): NUL bytes ---------------------------------------------------------------
@pytest.mark.parametrize(
    "parts",
    [
        [('name="file"; filename="t\x00.csv"', FILE[1])],
        [FILE, ('name="name"', b"my\x00table")],
    ],
    ids=["filename", "name"],
)
def test_nul_in_file_name_or_name_is_422(client, alice, settings, parts) -> None:
    body = _form(*[(d.encode("latin-1").decode("latin-1"), v) for d, v in parts])
    response = client.post("/api/v1/datasets", headers={**alice.headers, **FORM}, content=body)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]
    assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []
    assert not _stored_files(settings.data_dir / "datasets")


# -- item 15: a full disk ------------------------------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB file system (tmpfs) to hold the data directory; needs root."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.fail("mounting a tmpfs needs root (CAP_SYS_ADMIN); run this test as root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_upload_onto_a_full_disk_is_507_and_keeps_nothing(database_url, alice, tiny_disk) -> None:
    settings = make_settings(database_url, tiny_disk / "data")
    big = b"a,b\n" + b"12345,67890\n" * 400_000  # 4.8 MB onto 2 MiB
    with TestClient(create_app(settings, workers=0)) as client:
        response = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("big.csv", big)}
        )
        assert response.status_code == 507, response.text
        assert response.json()["type"] == PROBLEM + "insufficient-storage"
        assert not [p for p in _stored_files(tiny_disk) if "datasets" in p.parts]
        assert client.get("/api/v1/datasets", headers=alice.headers).json()["items"] == []
        # The space came back: a table that fits is stored.
        small = client.post(
            "/api/v1/datasets", headers=alice.headers, files={"file": ("s.csv", big[:100_000])}
        )
        assert small.status_code == 201, small.text


def test_wide_tables_couple_numbers_in_blocks(tmp_path: Path) -> None:
    """Fitting and sampling stay linear in columns: no numbers x numbers matrix."""
    import numpy as np

    import synthdata

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"n{i}": rng.normal(size=400) for i in range(150)})
    model = synthdata.fit(frame)
    coupling = model._model.coupling  # type: ignore[attr-defined]
    assert coupling.sizes is not None and int(coupling.sizes.sum()) == 150
    assert coupling.chol.shape == (150, int(coupling.sizes.max()))
    assert int(coupling.sizes.max()) <= 64
    model.save(tmp_path / "wide.zip")
    again = synthdata.load_model(tmp_path / "wide.zip")
    pd.testing.assert_frame_equal(model.sample(50, seed=3), again.sample(50, seed=3))

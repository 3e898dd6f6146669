"""Storage paths (issue 13, item 9): no API input can put a file outside the data root.

An admin's `?customer_id=../../../../tmp/x` went unchecked into the upload's folder:
the file was written outside the data directory and the request ended in a 500.
Now `customer_id` must look like an id (422) and, for an admin, name a customer that
exists (404); and `Storage` refuses any id that is not a plain path segment and any
path outside its root, as the last line of defence. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from synthdata.artifacts import LocalStore
from synthdata.service.app import create_app
from synthdata.service.core.settings import Settings
from synthdata.service.core.storage import Storage
from tests.fixtures.service import CSV, Caller

ABSOLUTE = f"/tmp/synthdata-escape-{secrets.token_hex(4)}"
TRAVERSALS = [
    "../../escaped",  # from <root>/customers/<id>: lands in the test's folder, beside <root>
    "../../../../tmp/x",
    ABSOLUTE,  # an absolute segment replaces everything before it
    "..",
    ".",
    "cus_x/../../../escaped",
    "..\\..\\escaped",
    "%2e%2e%2f%2e%2e%2fescaped",  # sent encoded once more: arrives as %2e%2e%2f...
    " ../escaped",
]
UNKNOWN_CUSTOMER = "cus_000000000000ffffffffffffffff"


@pytest.fixture
def roomy(settings_for: Callable[..., Settings]) -> Settings:
    """No rate limit gets in the way of a thousand requests from one key."""
    return settings_for(
        rate_limit_per_key=1_000_000,
        rate_limit_per_source=1_000_000,
        rate_limit_per_source_per_second=1_000_000,
    )


@pytest.fixture
def api(roomy: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(roomy), raise_server_exceptions=False) as client:
        yield client


def _outside(settings: Settings) -> set[str]:
    """Every file in the test's folder outside the data root, and every place outside
    the root that a traversal string would reach from a customer's folder."""
    folder = settings.data_dir.parent
    found = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not p.is_relative_to(settings.data_dir)
    }
    root = settings.data_dir.resolve()
    targets = {(root / "customers" / value).resolve() for value in TRAVERSALS}
    return found | {str(t) for t in targets if not t.is_relative_to(root) and t.exists()}


def _upload(client: TestClient, caller: Caller, query: str = "", name: str = "t.csv") -> Any:
    return client.post(
        f"/api/v1/datasets{query}",
        headers=caller.headers,
        files={"file": (name, CSV)},
        data={"name": name},
    )


def test_customer_id_must_be_a_plain_id_of_a_known_customer(
    api: TestClient, roomy: Settings, admin: Caller, alice: Caller
) -> None:
    dataset = _upload(api, alice).json()
    before = _outside(roomy)
    writes = {
        "/api/v1/datasets": None,
        "/api/v1/jobs": {"dataset_id": dataset["id"], "rows": 5},
        "/api/v1/models": {"dataset_id": dataset["id"]},
    }
    for value in TRAVERSALS:
        query = f"?customer_id={quote(value, safe='')}"
        for caller in (admin, alice):
            for path, body in writes.items():
                response = (
                    _upload(api, caller, query)
                    if body is None
                    else api.post(f"{path}{query}", headers=caller.headers, json=body)
                )
                assert response.status_code == 422, (value, path, response.text)
            for path in ("/api/v1/datasets", "/api/v1/jobs", "/api/v1/models", "/api/v1/usage"):
                listed = api.get(f"{path}{query}", headers=caller.headers)
                assert listed.status_code == 422, (value, path, listed.text)
    # Well-formed but unknown: 404 for an admin, as for any other missing object.
    unknown = f"?customer_id={UNKNOWN_CUSTOMER}"
    assert _upload(api, admin, unknown).status_code == 404
    for path, body in writes.items():
        if body is not None:
            assert api.post(f"{path}{unknown}", headers=admin.headers, json=body).status_code == 404
    for path in ("/api/v1/datasets", "/api/v1/jobs", "/api/v1/models", "/api/v1/usage"):
        assert api.get(f"{path}{unknown}", headers=admin.headers).status_code == 404
    # A real customer still works, and its file lands in its own folder.
    stored = _upload(api, admin, f"?customer_id={alice.customer_id}")
    assert stored.status_code == 201, stored.text
    assert (roomy.data_dir / "customers" / str(alice.customer_id) / "datasets").is_dir()
    assert _outside(roomy) == before


def test_no_id_or_parameter_of_any_route_reaches_outside_the_data_root(
    api: TestClient, roomy: Settings, admin: Caller, alice: Caller
) -> None:
    """Every operation of the OpenAPI document, with each traversal string in each of its
    path, query and header parameters, as an admin and as a customer: never a 500, and
    nothing written outside the data root."""
    before = _outside(roomy)
    dataset = _upload(api, alice).json()["id"]
    # A valid body where the route takes one, so that the request gets as far as it can.
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("post", "/api/v1/jobs"): {"json": {"dataset_id": dataset, "rows": 5}},
        ("post", "/api/v1/models"): {"json": {"dataset_id": dataset}},
        ("post", "/api/v1/datasets"): {"files": {"file": ("t.csv", CSV)}},
    }
    spec = api.app.openapi()  # type: ignore[attr-defined]
    sent = 0
    for template, operations in spec["paths"].items():
        for method, operation in operations.items():
            parameters = operation.get("parameters", [])
            body = bodies.get(
                (method, template), {"json": {}} if "requestBody" in operation else {}
            )
            for value in TRAVERSALS:
                for caller in (admin, alice):
                    for target in parameters or [None]:
                        path = template
                        for p in parameters:
                            if p["in"] == "path":
                                path = path.replace(f"{{{p['name']}}}", quote(value, safe=""))
                        params = {}
                        headers = dict(caller.headers)
                        if target is not None and target["in"] == "query":
                            params[target["name"]] = value
                        elif target is not None and target["in"] == "header":
                            headers[target["name"]] = value.encode("ascii", "replace").decode()
                        response = api.request(method, path, params=params, headers=headers, **body)
                        sent += 1
                        assert response.status_code != 500, (method, path, params, response.text)
    assert sent > 500
    # Uploads: the file's name and the form's name field are data, never a path.
    for value in TRAVERSALS:
        response = _upload(api, alice, name=f"{value}.csv")
        assert response.status_code in (201, 422), (value, response.text)
    assert _outside(roomy) == before
    for path in roomy.data_dir.rglob("*"):
        assert path.resolve().is_relative_to(roomy.data_dir.resolve()), path


def _storage(tmp_path: Path) -> Storage:
    return Storage(LocalStore(tmp_path / "data"), tmp_path / "work")


@pytest.mark.parametrize("bad", ["..", ".", "", "../x", "a/b", "/abs", "a\\b", "x\x00", ".hidden"])
def test_storage_refuses_ids_that_are_not_plain_segments(tmp_path: Path, bad: str) -> None:
    from synthdata.service.core.storage import UnsafePath

    storage = _storage(tmp_path)
    builders: list[Callable[[], str]] = [
        lambda: storage.dataset_file(bad, "ds_1", "csv"),
        lambda: storage.dataset_file("cus_1", bad, "csv"),
        lambda: storage.dataset_file("cus_1", "ds_1", bad),
        lambda: storage.model_file(bad, "mdl_1"),
        lambda: storage.model_file("cus_1", bad),
        lambda: storage.job_dir(bad, "job_1"),
        lambda: storage.job_dir("cus_1", bad),
        lambda: storage.part_file("cus_1", bad, 0, "csv"),
        lambda: storage.result_file("cus_1", "job_1", bad),
    ]
    for build in builders:
        with pytest.raises(UnsafePath):
            build()


def test_storage_refuses_keys_outside_its_root(tmp_path: Path) -> None:
    from synthdata.service.core.storage import UnsafePath

    storage = _storage(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "keep.txt").write_text("not ours")
    for key in ("../elsewhere/keep.txt", "/etc/passwd", "customers/../../elsewhere"):
        with pytest.raises(UnsafePath):
            storage.fetch(key)
        with pytest.raises(UnsafePath):
            storage.remove_file(key)
        with pytest.raises(UnsafePath):
            storage.remove_tree(key)
    # A symlink inside the root that points out of it is refused too.
    link_parent = tmp_path / "data" / "customers" / "cus_1" / "jobs"
    link_parent.mkdir(parents=True)
    (link_parent / "job_1").symlink_to(outside, target_is_directory=True)
    job_dir = storage.job_dir("cus_1", "job_1")
    with pytest.raises(UnsafePath):
        storage.fetch(f"{job_dir}/keep.txt")
    with pytest.raises(UnsafePath):
        storage.remove_tree(job_dir)
    with pytest.raises(UnsafePath), storage.store.open_write(f"{job_dir}/new.txt") as sink:
        sink.write(b"x")
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text() == "not ours"
    assert storage.dataset_file("cus_1", "ds_1", "csv") == "customers/cus_1/datasets/ds_1/data.csv"

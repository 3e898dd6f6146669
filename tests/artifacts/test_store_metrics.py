"""The store metrics move with what the store does, read back from the Prometheus registry."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from benchmarks.service_processes import free_port
from prometheus_client import REGISTRY

from synthdata.artifacts import (
    ArtifactStore,
    InstrumentedStore,
    LocalStore,
    ObjectNotFound,
    S3Store,
    StoreConfig,
    StoreUnavailable,
    open_store,
)
from synthdata.observability.http import metrics_payload
from tests.fixtures.objectstore import ACCESS_KEY, SECRET_KEY, S3Server


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> ArtifactStore:
    return InstrumentedStore(request.getfixturevalue(f"{request.param}_store"))


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _requests(backend: str, operation: str, outcome: str) -> float:
    return _value(
        "synthdata_store_requests_total", backend=backend, operation=operation, outcome=outcome
    )


def test_requests_bytes_and_durations_are_counted(store: ArtifactStore, tmp_path: Path) -> None:
    backend = store.backend
    before = {
        "put": _requests(backend, "put", "ok"),
        "get": _requests(backend, "get", "ok"),
        "head": _requests(backend, "head", "ok"),
        "missing": _requests(backend, "head", "not_found"),
        "get_missing": _requests(backend, "get", "not_found"),
        "list": _requests(backend, "list", "ok"),
        "delete": _requests(backend, "delete", "ok"),
        "written": _value("synthdata_store_bytes_total", backend=backend, direction="written"),
        "read": _value("synthdata_store_bytes_total", backend=backend, direction="read"),
        "timed": _value(
            "synthdata_store_request_duration_seconds_count", backend=backend, operation="put"
        ),
    }
    with store.open_write("m/a.bin") as out:
        out.write(b"x" * 1000)
    source = tmp_path / "b.bin"
    source.write_bytes(b"y" * 500)
    store.put_file(source, "m/b.bin")
    with store.open_read("m/a.bin") as handle:
        assert handle.read(300) == b"x" * 300
    store.get_file("m/b.bin", tmp_path / "copy.bin")
    assert store.info("m/a.bin") is not None
    assert store.info("m/none") is None
    with pytest.raises(ObjectNotFound), store.open_read("m/none"):
        pass
    assert len(list(store.list("m"))) == 2
    store.delete_prefix("m")

    assert _requests(backend, "put", "ok") - before["put"] == 2
    assert _requests(backend, "get", "ok") - before["get"] == 2
    assert _requests(backend, "head", "ok") - before["head"] == 1
    assert _requests(backend, "head", "not_found") - before["missing"] == 1
    assert _requests(backend, "get", "not_found") - before["get_missing"] == 1
    assert _requests(backend, "list", "ok") - before["list"] == 1
    assert _requests(backend, "delete", "ok") - before["delete"] == 1
    written = _value("synthdata_store_bytes_total", backend=backend, direction="written")
    read = _value("synthdata_store_bytes_total", backend=backend, direction="read")
    assert written - before["written"] == 1500
    assert read - before["read"] == 300 + 500
    timed = _value(
        "synthdata_store_request_duration_seconds_count", backend=backend, operation="put"
    )
    assert timed - before["timed"] == 2


def test_a_failed_write_counts_as_an_error(store: ArtifactStore) -> None:
    before = _requests(store.backend, "put", "error")
    with pytest.raises(RuntimeError), store.open_write("m/a.bin") as out:
        out.write(b"x")
        raise RuntimeError("caller failed")
    assert _requests(store.backend, "put", "error") - before == 1


def test_check_sets_the_up_gauge(s3_server: S3Server) -> None:
    working = open_store(s3_server.config(prefix="up"))
    working.check()
    assert _value("synthdata_store_up", backend="s3") == 1
    before = _requests("s3", "check", "error")
    down = open_store(replace(s3_server.config(), endpoint=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(StoreUnavailable):
        down.check()
    assert _value("synthdata_store_up", backend="s3") == 0
    assert _requests("s3", "check", "error") - before == 1


def test_every_series_exists_before_the_first_request(tmp_path: Path) -> None:
    InstrumentedStore(LocalStore(tmp_path))
    text = metrics_payload().decode()
    for operation in ("put", "get", "head", "list", "delete", "presign", "check"):
        for outcome in ("ok", "error", "not_found"):
            labels = f'backend="local",operation="{operation}",outcome="{outcome}"'
            assert f"synthdata_store_requests_total{{{labels}}}" in text
    assert 'synthdata_store_bytes_total{backend="local",direction="read"}' in text


def test_open_store_measures_every_backend(s3_server: S3Server, tmp_path: Path) -> None:
    local = open_store(StoreConfig(local_root=tmp_path))
    remote = open_store(s3_server.config(prefix="p"))
    assert isinstance(local, InstrumentedStore) and local.backend == "local"
    assert isinstance(remote, InstrumentedStore) and isinstance(remote.inner, S3Store)
    local.check()
    assert _value("synthdata_store_up", backend="local") == 1


def test_no_credential_reaches_the_exposition(s3_server: S3Server) -> None:
    store = open_store(s3_server.config(prefix="p"))
    store.check()
    with store.open_write("k") as out:
        out.write(b"1")
    exposition = metrics_payload().decode()  # what GET /metrics answers
    assert 'synthdata_store_requests_total{backend="s3",operation="put",outcome="ok"}' in (
        exposition
    )
    assert 'synthdata_store_up{backend="s3"} 1.0' in exposition
    assert "synthdata_store_orphan_objects " in exposition
    assert SECRET_KEY not in exposition and ACCESS_KEY not in exposition
    assert s3_server.endpoint not in exposition

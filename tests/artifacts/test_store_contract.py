"""One contract, two backends: every test here runs against a LocalStore in a temporary
directory and an S3Store on a real SeaweedFS server (tests/fixtures/objectstore.py)."""

from __future__ import annotations

import hashlib
import io
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from synthdata.artifacts import (
    ArtifactStore,
    InstrumentedStore,
    ObjectNotFound,
    StoreError,
    UnsafeKey,
)
from synthdata.artifacts.s3 import PART_BYTES

MB = 1024 * 1024


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> ArtifactStore:
    """The backend as every caller gets it from `open_store`: inside the metrics wrapper."""
    return InstrumentedStore(request.getfixturevalue(f"{request.param}_store"))


def _block(seed: int, size: int = MB) -> bytes:
    return random.Random(seed).randbytes(size)


def _write(store: ArtifactStore, key: str, data: bytes) -> None:
    with store.open_write(key) as out:
        out.write(data)


def _read(store: ArtifactStore, key: str) -> bytes:
    with store.open_read(key) as source:
        return source.read()


def test_the_store_is_an_artifact_store(store: ArtifactStore) -> None:
    assert isinstance(store, ArtifactStore)
    assert store.backend in ("local", "s3")


def test_a_large_streamed_write_reads_back_whole(store: ArtifactStore) -> None:
    # 20 MB in 1 MB writes: more than two S3 parts, so a real multipart upload.
    digest = hashlib.sha256()
    with store.open_write("big/data.bin") as out:
        for index in range(20):
            block = _block(index)
            digest.update(block)
            out.write(block)
        assert out.tell() == 20 * MB
    assert 20 * MB > 2 * PART_BYTES
    info = store.info("big/data.bin")
    assert info is not None and info.size == 20 * MB and info.key == "big/data.bin"
    read = hashlib.sha256()
    with store.open_read("big/data.bin") as source:
        while chunk := source.read(3 * MB + 7):
            read.update(chunk)
    assert read.hexdigest() == digest.hexdigest()


@pytest.mark.parametrize("size", [100, 12 * MB], ids=["single-put", "multipart"])
def test_a_failed_write_leaves_no_object(store: ArtifactStore, size: int) -> None:
    with pytest.raises(RuntimeError, match="mid-write"), store.open_write("a/new.bin") as out:
        out.write(b"x" * size)
        raise RuntimeError("mid-write")
    assert store.info("a/new.bin") is None
    assert list(store.list("a")) == []


@pytest.mark.parametrize("size", [100, 12 * MB], ids=["single-put", "multipart"])
def test_a_failed_overwrite_keeps_the_earlier_version(store: ArtifactStore, size: int) -> None:
    _write(store, "a/kept.bin", b"version one")
    with pytest.raises(RuntimeError), store.open_write("a/kept.bin") as out:
        out.write(b"y" * size)
        raise RuntimeError("mid-write")
    assert _read(store, "a/kept.bin") == b"version one"
    assert [found.key for found in store.list("a")] == ["a/kept.bin"]


def test_overwrite_replaces_the_object(store: ArtifactStore) -> None:
    _write(store, "parts/part-00000.csv", b"first attempt, longer than the second")
    _write(store, "parts/part-00000.csv", b"retry")
    assert _read(store, "parts/part-00000.csv") == b"retry"
    info = store.info("parts/part-00000.csv")
    assert info is not None and info.size == 5


def test_reads_seek(store: ArtifactStore) -> None:
    data = _block(7, 3 * MB)
    _write(store, "seek.bin", data)
    with store.open_read("seek.bin") as source:
        assert source.seekable()
        assert source.seek(2 * MB + 11) == 2 * MB + 11
        assert source.read(100) == data[2 * MB + 11 : 2 * MB + 111]
        assert source.tell() == 2 * MB + 111
        source.seek(-10, io.SEEK_END)
        assert source.read() == data[-10:]
        source.seek(5)
        assert source.read(5) == data[5:10]


def test_list_is_recursive_under_a_folder_prefix(store: ArtifactStore) -> None:
    for key in ("a/1.txt", "a/b/2.txt", "a/b/c/3.txt", "ab/4.txt", "z.txt"):
        _write(store, key, key.encode())
    keys = sorted(found.key for found in store.list("a"))
    assert keys == ["a/1.txt", "a/b/2.txt", "a/b/c/3.txt"]  # not ab/4.txt: folders
    assert sorted(found.key for found in store.list("a/b/")) == ["a/b/2.txt", "a/b/c/3.txt"]
    everything = {found.key: found.size for found in store.list("")}
    assert everything == {
        k: len(k) for k in ("a/1.txt", "a/b/2.txt", "a/b/c/3.txt", "ab/4.txt", "z.txt")
    }
    assert list(store.list("missing")) == []


def test_delete_and_delete_prefix(store: ArtifactStore) -> None:
    for key in ("job/parts/p0", "job/parts/p1", "job/manifest.json", "jobx/keep"):
        _write(store, key, b"1")
    store.delete("job/manifest.json")
    store.delete("job/manifest.json")  # missing is fine
    assert store.info("job/manifest.json") is None
    assert store.delete_prefix("job") == 2
    assert store.delete_prefix("job") == 0
    assert [found.key for found in store.list("")] == ["jobx/keep"]
    with pytest.raises(UnsafeKey):
        store.delete_prefix("")


def test_missing_objects(store: ArtifactStore, tmp_path: Path) -> None:
    assert store.info("no/such/key") is None
    with pytest.raises(ObjectNotFound), store.open_read("no/such/key"):
        pass
    with pytest.raises(FileNotFoundError):  # ObjectNotFound is one, as a missing file was
        store.get_file("no/such/key", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert issubclass(ObjectNotFound, StoreError)


def test_put_file_and_get_file_stream_whole_files(store: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    data = _block(3, 9 * MB + 5)
    source.write_bytes(data)
    assert store.put_file(source, "files/model.synth") == len(data)
    target = tmp_path / "copy" / "model.synth"
    target.parent.mkdir()
    assert store.get_file("files/model.synth", target) == len(data)
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["model.synth"]  # no temp file left


@pytest.mark.parametrize(
    "key",
    ["/abs", "a/../b", "..", "./a", "a//b", "a\\b", "", "a/\x00b", "a/.synthdata-tmp-x"],
)
def test_unsafe_keys_are_refused(store: ArtifactStore, key: str) -> None:
    with pytest.raises(UnsafeKey):
        store.info(key)
    with pytest.raises(UnsafeKey), store.open_write(key):
        pass
    with pytest.raises(UnsafeKey), store.open_read(key):
        pass
    with pytest.raises(UnsafeKey):
        store.delete(key)
    with pytest.raises(UnsafeKey):
        store.presign(key, 60)
    assert list(store.list("")) == []


def test_check_passes_and_leaves_nothing(store: ArtifactStore) -> None:
    store.check()
    assert list(store.list("")) == []


def test_pyarrow_dataset_reads_parquet_written_through_the_store(store: ArtifactStore) -> None:
    for index in range(3):
        table = pa.table({"id": list(range(index * 10, index * 10 + 10)), "part": [index] * 10})
        with store.open_write(f"jobs/j1/parts/part-{index:05d}.parquet") as out:
            pq.write_table(table, out)
    filesystem, base = store.arrow_filesystem()
    dataset = ds.dataset(f"{base}/jobs/j1/parts", filesystem=filesystem, format="parquet")
    read = dataset.to_table().sort_by("id")
    assert read.column("id").to_pylist() == list(range(30))
    assert read.num_rows == 30


def test_threads_share_one_store(store: ArtifactStore) -> None:
    # Worker threads of one process write and read their parts through the same store.
    def round_trip(index: int) -> bool:
        data = _block(100 + index, 256 * 1024)
        _write(store, f"threads/part-{index:05d}.bin", data)
        return _read(store, f"threads/part-{index:05d}.bin") == data

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(round_trip, range(16)))
    assert len(list(store.list("threads"))) == 16


def test_pandas_writes_and_reads_csv_through_handles(store: ArtifactStore) -> None:
    frame = pd.DataFrame({"a": range(50_000), "b": ["x,y"] * 50_000})
    with store.open_write("csv/data.csv") as out:
        frame.to_csv(out, index=False)
    with store.open_read("csv/data.csv") as source:
        assert pd.read_csv(source).equals(frame)

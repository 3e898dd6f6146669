"""Where artifacts live: uploads, trained models, job parts and results.

Every path is derived from ids alone, so a re-run of a task writes to the same
place (idempotent), and the database stores paths relative to the data directory.
Ids are checked against `SAFE_ID` and every built path must stay under the root:
the API validates ids at its edge, and this is the last line behind it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from pathlib import Path

SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""What an id (and a format) used as one path segment may look like: no dots, no slashes."""

CUSTOMERS = "customers"
"""The folder under the root that holds every customer's artifacts (and nothing else)."""


class UnsafePath(ValueError):
    """An id that is not a plain path segment, or a path outside the data directory."""


def _segment(value: str) -> str:
    if not isinstance(value, str) or not SAFE_ID.fullmatch(value):
        raise UnsafePath(f"not a safe storage id: {value!r}")
    return value


class Storage:
    """A local directory laid out by customer and object id."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    @property
    def customers(self) -> Path:
        """The folder of every customer's artifacts (what the orphan sweep walks)."""
        return self.root / CUSTOMERS

    def _inside(self, path: Path) -> Path:
        if not path.resolve().is_relative_to(self.root):
            raise UnsafePath(f"path escapes the data directory: {path}")
        return path

    def absolute(self, relative: str) -> Path:
        """The absolute path of a stored relative path (refusing escapes from the root)."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise UnsafePath(f"path escapes the data directory: {relative}")
        return path

    def relative(self, path: Path) -> str:
        """The path relative to the data directory, as stored in the database."""
        return path.resolve().relative_to(self.root).as_posix()

    def _object_dir(self, customer_id: str, kind: str, object_id: str) -> Path:
        return self._inside(self.customers / _segment(customer_id) / kind / _segment(object_id))

    def dataset_file(self, customer_id: str, dataset_id: str, fmt: str) -> Path:
        folder = self._object_dir(customer_id, "datasets", dataset_id)
        return folder / f"data.{_segment(fmt)}"

    def model_file(self, customer_id: str, model_id: str) -> Path:
        return self._object_dir(customer_id, "models", model_id) / "model.synth"

    def job_dir(self, customer_id: str, job_id: str) -> Path:
        return self._object_dir(customer_id, "jobs", job_id)

    def job_model_file(self, customer_id: str, job_id: str) -> Path:
        """The model fitted for a job that was given a dataset rather than a model."""
        return self.job_dir(customer_id, job_id) / "model.synth"

    def part_file(self, customer_id: str, job_id: str, index: int, fmt: str) -> Path:
        return (
            self.job_dir(customer_id, job_id) / "parts" / f"part-{int(index):05d}.{_segment(fmt)}"
        )

    def result_file(self, customer_id: str, job_id: str, fmt: str) -> Path:
        return self.job_dir(customer_id, job_id) / f"result.{_segment(fmt)}"

    def remove_tree(self, path: Path) -> None:
        """Delete a folder of artifacts; missing is fine (deletion may run twice)."""
        shutil.rmtree(self._inside(path), ignore_errors=True)

    def remove_file(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._inside(path).unlink()

    def check_writable(self) -> None:
        """Raise OSError unless a file can be created and removed under the root."""
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".probe-{uuid.uuid4().hex}"
        with probe.open("wb") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()

"""Where artifacts live: uploads, trained models, job parts and results.

Every path is derived from ids alone, so a re-run of a task writes to the same
place (idempotent), and the database stores paths relative to the data directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path


class Storage:
    """A local directory laid out by customer and object id."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def absolute(self, relative: str) -> Path:
        """The absolute path of a stored relative path (refusing escapes from the root)."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"path escapes the data directory: {relative}")
        return path

    def relative(self, path: Path) -> str:
        """The path relative to the data directory, as stored in the database."""
        return path.resolve().relative_to(self.root).as_posix()

    def dataset_file(self, customer_id: str, dataset_id: str, fmt: str) -> Path:
        return self.root / "customers" / customer_id / "datasets" / dataset_id / f"data.{fmt}"

    def model_file(self, customer_id: str, model_id: str) -> Path:
        return self.root / "customers" / customer_id / "models" / model_id / "model.synth"

    def job_dir(self, customer_id: str, job_id: str) -> Path:
        return self.root / "customers" / customer_id / "jobs" / job_id

    def job_model_file(self, customer_id: str, job_id: str) -> Path:
        """The model fitted for a job that was given a dataset rather than a model."""
        return self.job_dir(customer_id, job_id) / "model.synth"

    def part_file(self, customer_id: str, job_id: str, index: int, fmt: str) -> Path:
        return self.job_dir(customer_id, job_id) / "parts" / f"part-{index:05d}.{fmt}"

    def result_file(self, customer_id: str, job_id: str, fmt: str) -> Path:
        return self.job_dir(customer_id, job_id) / f"result.{fmt}"

    def remove_tree(self, path: Path) -> None:
        """Delete a folder of artifacts; missing is fine (deletion may run twice)."""
        shutil.rmtree(path, ignore_errors=True)

    def remove_file(self, path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def check_writable(self) -> None:
        """Raise OSError unless a file can be created and removed under the root."""
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".probe-{uuid.uuid4().hex}"
        with probe.open("wb") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
        probe.unlink()

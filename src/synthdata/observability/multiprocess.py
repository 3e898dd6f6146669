"""Several server processes, one set of numbers.

With `synthdata serve --workers N`, each process writes its samples to files in a
shared directory (prometheus_client's multiprocess mode) and `/metrics`, whichever
process answers, merges them: counters add up and nothing is counted twice.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_metrics(default_dir: Path) -> Path:
    """Set up (and empty) the shared directory before the server processes start.

    Must run before any child process imports prometheus_client; an operator's own
    `PROMETHEUS_MULTIPROC_DIR` wins over `default_dir`.
    """
    directory = Path(os.environ.get(ENV) or default_dir).resolve()
    if directory.exists():
        shutil.rmtree(directory)  # samples of a previous run must not be added again
    directory.mkdir(parents=True)
    os.environ[ENV] = str(directory)
    return directory

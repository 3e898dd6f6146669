"""`SYNTHDATA_LOG_FILE`: every JSON log line also lands, whole, in the log file."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from synthdata.observability.logging import configure_logging, get_logger


def test_lines_go_to_the_stream_and_the_file(tmp_path: Path) -> None:
    stream = io.StringIO()
    log_file = tmp_path / "logs" / "synthdata.log"
    try:
        configure_logging("INFO", stream=stream, log_file=log_file)
        get_logger("test").error("job failed", job_id="job_1")
        logging.getLogger("synthdata.test.stdlib").warning("slow start")
    finally:
        configure_logging("INFO")
    on_console = [json.loads(line) for line in stream.getvalue().splitlines()]
    in_file = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert in_file == on_console
    assert [(line["level"], line["message"]) for line in in_file] == [
        ("ERROR", "job failed"),
        ("WARNING", "slow start"),
    ]
    assert in_file[0]["job_id"] == "job_1"

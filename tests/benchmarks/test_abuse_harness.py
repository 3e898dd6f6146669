"""The abuse benchmark's harness, end to end on its cheapest attack (the 64 MB header).

It must measure the real thing: a `synthdata serve` process whose memory is sampled,
a bystander whose requests were answered by that server, the attacker's status as the
server sent it, and the page and JSON written. Numbers are not asserted (timings are
never asserted in tests); only that they were measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.abuse import main

MIB = 1024**2


@pytest.mark.slow
def test_the_header_attack_is_measured_on_a_real_server(tmp_path: Path) -> None:
    main(["--attacks", "header", "--warmup", "1", "--idle", "3", "--out-dir", str(tmp_path)])
    data = json.loads((tmp_path / "abuse.json").read_text())
    assert data["machine"]["cores"] and data["stack"]["uvicorn"]

    (attack,) = data["attacks"]
    assert attack["server_alive"] is True
    idle = attack["idle"]
    # 20 requests a second for 3 s, all answered 200 by the server, from its own process.
    assert idle["requests"] >= 40 and idle["statuses"] == {"200": idle["requests"]}
    assert idle["p95_ms"] > 0 and idle["rss_bytes"] > 50 * MIB  # a real Python server

    (phase,) = attack["phases"]
    assert phase["peak_rss_bytes"] >= 50 * MIB
    assert phase["bystander"]["requests"] > 0 and phase["bystander"]["p95_ms"] > 0
    (status,) = phase["attacker"]
    assert status.startswith("GET /healthz "), status  # what the server answered, or how it ended
    assert phase["verdict"] in ("PASS", "FAIL") and attack["verdict"] in ("PASS", "FAIL")
    assert attack["issue_check"]["verdict"] in ("PASS", "FAIL")
    assert attack["disk"]["orphan_bytes"] == 0  # a header leaves no file

    page = (tmp_path / "abuse.md").read_text()
    assert "### 3. 64 MB request header" in page and "Machine:" in page
    assert "one 64 MB header on /healthz" in page

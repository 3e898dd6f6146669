"""Upload inspection runs in a helper process (service/core/offload.py), not on the API's
threads; a helper that dies fails only the request it was doing."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import psutil
import pytest
from fastapi.testclient import TestClient
from tests.fixtures.service import Caller

from synthdata.service.app import create_app
from synthdata.service.core.offload import Offload, OffloadFailed, shared_offload
from synthdata.service.core.settings import Settings

CSV = b"a,b\n1,x\n2,y\n3,z\n"


def helper_pids(offload: Offload) -> set[int]:
    pool = offload._pool  # the executor's own processes: what ran the work
    return set(pool._processes) if pool is not None else set()  # type: ignore[attr-defined]


def test_uploads_are_inspected_in_a_lower_priority_helper(
    settings_for: Callable[..., Settings], alice: Caller
) -> None:
    settings = settings_for(offload_nice=7)
    with TestClient(create_app(settings, workers=0)) as client:
        answer = client.post(
            "/api/v1/datasets",
            headers=alice.headers,
            files={"file": ("t.csv", CSV)},
        )
        assert answer.status_code == 201, answer.text
        assert [c["name"] for c in answer.json()["schema"]["columns"]] == ["a", "b"]
    pids = helper_pids(shared_offload(7))
    assert pids and os.getpid() not in pids
    ours = psutil.Process().nice()
    assert {psutil.Process(pid).nice() for pid in pids} == {min(19, ours + 7)}


def test_a_dead_helper_fails_one_call_and_is_replaced() -> None:
    offload = Offload(nice=0)

    async def scenario() -> int:
        with pytest.raises(OffloadFailed, match="stopped"):
            await offload.run(os._exit, 1)  # the helper dies mid-call, as on out-of-memory
        return await offload.run(abs, -3)  # a new helper answers the next call

    try:
        assert asyncio.run(scenario()) == 3
    finally:
        offload.close()


def test_errors_of_the_work_reach_the_caller_unchanged() -> None:
    offload = Offload(nice=0)
    try:
        with pytest.raises(ValueError, match="invalid literal"):
            asyncio.run(offload.run(int, "not a number"))
    finally:
        offload.close()

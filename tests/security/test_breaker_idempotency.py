"""While the circuit breaker is on, a retry of an accepted job returns that job.

The breaker refuses new work (503 with Retry-After). The docs tell clients to retry
a job submission with the same Idempotency-Key: a retry of a job that was already
accepted must get the original job back (202 with `Idempotent-Replayed: true`), not a 503
that makes the client believe its job does not exist.
"""

from __future__ import annotations

from typing import Any

BREAKER = "/api/v1/admin/circuit-breakers/synthdata-api"


def _submit(client: Any, caller: Any, dataset_id: str, key: str, rows: int = 20) -> Any:
    return client.post(
        "/api/v1/jobs",
        headers={**caller.headers, "Idempotency-Key": key},
        json={"dataset_id": dataset_id, "rows": rows},
    )


def test_retry_of_an_accepted_job_returns_it_while_the_breaker_is_on(
    client: Any, admin: Any, alice: Any, bob: Any, upload: Any
) -> None:
    dataset = upload(alice)
    accepted = _submit(client, alice, dataset["id"], "order-42")
    assert accepted.status_code == 202, accepted.text

    on = client.put(BREAKER, headers=admin.headers, json={"enabled": True, "retry_after": 90})
    assert on.status_code == 200

    retried = _submit(client, alice, dataset["id"], "order-42")
    assert retried.status_code == 202, retried.text
    assert retried.json()["id"] == accepted.json()["id"]
    assert retried.headers["Idempotent-Replayed"] == "true"

    # New work is still refused: a new key, and the same key with a different request.
    fresh = _submit(client, alice, dataset["id"], "order-43")
    assert fresh.status_code == 503 and fresh.headers["Retry-After"] == "90"
    reused = _submit(client, alice, dataset["id"], "order-42", rows=21)
    assert reused.status_code == 409, reused.text
    # Another customer's key of the same name is theirs: refused like any new job.
    other = _submit(client, bob, upload(bob)["id"], "order-42")
    assert other.status_code == 503

    jobs = client.get("/api/v1/jobs", headers=alice.headers).json()["items"]
    assert [job["id"] for job in jobs] == [accepted.json()["id"]]

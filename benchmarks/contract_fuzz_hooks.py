"""Schemathesis hooks for the contract fuzz (loaded through `SCHEMATHESIS_HOOKS`).

Test data and test state, not a change to any check:

- a positive `POST /datasets` case carries a real CSV table in its `file` part. The
  schema says the part is binary; it cannot say "a readable CSV or Parquet table", and
  a PNG is schema-valid and rightly refused;
- a positive `POST /jobs` or `POST /models` case leaves out `conditions` and
  `constraints`: they name columns of the dataset, which the document cannot list, so
  a generated one is refused (422) whenever the fuzzer found a real dataset;
- the circuit breaker is turned off again right after the fuzzer turned it on, or every
  later `POST /jobs` would get the breaker's (documented, intended) 503.

Negative cases (any part of the request generated to be invalid) go out as generated.
"""

from __future__ import annotations

from typing import Any

import requests
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.transport.serialization import Binary

TABLE = b"age,city\n31,Paris\n45,Lyon\n27,Nice\n52,Paris\n"


def _positive(case: Any) -> bool:
    meta = case.meta
    return (
        meta is not None
        and meta.generation.mode.is_positive
        and not any(meta.is_negative_at(location) for location in ParameterLocation)
    )


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    if case.method.upper() != "POST" or not isinstance(case.body, dict) or not _positive(case):
        return case
    path = case.operation.path
    if path.endswith("/datasets") and isinstance(case.body.get("file"), Binary):
        # In place, as the case is made: Schemathesis re-judges a body it sees changed
        # later on, and cannot judge one holding a file (it would call it invalid).
        case.body["file"].data = TABLE
    elif path.endswith(("/jobs", "/models")):
        for field in ("conditions", "constraints"):
            if case.body.get(field):
                case.body[field] = None
    return case


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if (
        case.method.upper() == "PUT"
        and "/circuit-breakers/" in case.operation.path
        and response.status_code == 200
        and response.json().get("enabled")
    ):
        request = response.request
        headers = {"X-API-Key": request.headers["X-API-Key"]}
        requests.put(request.url, json={"enabled": False}, headers=headers, timeout=30)

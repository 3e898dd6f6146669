"""Issue 13, item 21: the OpenAPI document and the service agree.

Schemathesis found 28 disagreements: a 405 whose `Allow` named one method where the
path has two, requests valid by the schema refused (a job naming both a dataset and a
model, an unknown synthesizer, a rows count over the setting, a breaker of an unknown
service), a timestamp the schema calls invalid accepted as Unix time, and a 415 the
document did not mention. The direct tests below pin each one; the last test runs
Schemathesis itself, every check, with a customer key and a platform admin key, against
a live `synthdata serve` (`python -m benchmarks.contract_fuzz` runs it for 5 minutes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

PATHS_WITH_TWO_METHODS = [
    ("/api/v1/jobs", "DELETE", "GET, POST"),
    ("/api/v1/customers", "PUT", "GET, POST"),
    ("/api/v1/datasets", "OPTIONS", "GET, POST"),
    ("/api/v1/datasets/ds_x", "PUT", "DELETE, GET"),
    ("/api/v1/models/mdl_x", "POST", "DELETE, GET"),
    ("/api/v1/customers/cus_x/keys", "DELETE", "GET, POST"),
    ("/api/v1/admin/circuit-breakers/synthdata-api", "POST", "GET, PUT"),
]


@pytest.mark.parametrize(("path", "method", "allowed"), PATHS_WITH_TWO_METHODS)
def test_405_lists_every_method_of_the_path(client, admin, path, method, allowed):
    response = client.request(method, path, headers=admin.headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allowed
    assert response.json()["type"] == "urn:synthdata:problem:method-not-allowed"


def test_document_describes_what_is_accepted(client, settings):
    document = client.get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    upload = document["paths"]["/api/v1/datasets"]["post"]
    assert "415" in upload["responses"]  # a body that is not multipart
    job = schemas["JobCreate"]
    (counted,) = [o for o in job["properties"]["rows"]["anyOf"] if o["type"] == "integer"]
    assert counted["maximum"] == settings.max_job_rows
    assert [option["required"] for option in job["oneOf"]] == [
        ["dataset_id"],
        ["model_id", "rows"],  # a model needs rows; linked tables' dataset takes a scale
    ]
    assert job["not"]["required"] == ["rows", "scale"]  # never both
    assert job["properties"]["synthesizer"]["enum"] == ["chain", "copula", "dp"]
    usage = {
        p["name"]: p["schema"] for p in document["paths"]["/api/v1/usage"]["get"]["parameters"]
    }
    assert usage["since"] == {"type": "string", "format": "date-time"} | {
        k: v for k, v in usage["since"].items() if k not in ("type", "format")
    }
    breaker = document["paths"]["/api/v1/admin/circuit-breakers/{service_name}"]["get"]
    assert breaker["parameters"][0]["schema"]["pattern"] == "^(synthdata\\-api)$"
    price = schemas["CustomerCreate"]["properties"]["price_per_1k_rows"]
    assert price["type"] == "string" and "pattern" in price
    for item in document["paths"].values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                # A query or path parameter is given or left out: it is never null.
                assert {"type": "null"} not in parameter["schema"].get("anyOf", []), parameter


def test_schema_valid_requests_are_not_refused(client, admin, alice, upload):
    """Requests the old document called valid, refused with 422 before."""
    dataset = upload(alice)
    both = client.post(
        "/api/v1/jobs",
        headers=alice.headers,
        json={"dataset_id": dataset["id"], "model_id": "mdl_x", "rows": 5},
    )
    assert both.status_code == 422  # and now the document says so: oneOf
    too_many_rows = client.post(
        "/api/v1/jobs", headers=alice.headers, json={"dataset_id": dataset["id"], "rows": 10**12}
    )
    assert too_many_rows.status_code == 422  # the document's maximum is the setting
    # A platform admin key without customer_id: well formed, but this key owns nothing.
    no_owner = client.post("/api/v1/models", headers=admin.headers, json={"dataset_id": "ds_x"})
    assert no_owner.status_code == 403, no_owner.text
    assert no_owner.json()["type"] == "urn:synthdata:problem:customer-required"


def test_upload_that_is_not_multipart_is_a_documented_415(client, alice):
    response = client.post("/api/v1/datasets", headers=alice.headers, json={"file": "a,b\n1,2\n"})
    assert response.status_code == 415
    assert response.json()["type"] == "urn:synthdata:problem:unsupported-media-type"


@pytest.mark.slow
@pytest.mark.parametrize("role", ["customer", "admin"])
def test_schemathesis_all_checks_find_nothing(tmp_path: Path, role: str) -> None:
    # Imported here: the module is new, and the direct tests above must run without it.
    from benchmarks.contract_fuzz import failures_section, live_service, run_schemathesis

    with live_service(tmp_path) as service:
        run = run_schemathesis(service.url, role, service.keys[role], tmp_path, max_examples=5)
    assert run.cases >= 30, run.output[-3000:]
    assert run.failures == 0 and run.returncode == 0, failures_section(run.output)[:20000]

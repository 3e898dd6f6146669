"""docs/api.md documents every operation the service's OpenAPI spec declares."""

from __future__ import annotations

from pathlib import Path

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def test_every_openapi_operation_is_in_the_api_reference(client):
    spec = client.get("/api/v1/openapi.json").json()
    text = API_DOC.read_text(encoding="utf-8")
    operations = [
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    ]
    assert len(operations) > 20  # the spec really was read
    missing = [op for op in operations if f"`{op}`" not in text]
    assert not missing, f"add these to docs/api.md: {missing}"


def test_the_api_reference_names_no_operation_the_api_lacks(client):
    spec = client.get("/api/v1/openapi.json").json()
    declared = {
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    }
    documented = {
        line.removeprefix("#### ").strip("`")
        for line in API_DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("#### `")
    }
    assert documented <= declared, f"not in the API: {sorted(documented - declared)}"

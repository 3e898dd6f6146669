"""The HTTP edge (issue 13): header size, keep-alive after a 500, NUL characters.

Items 3 and 13 run against a real `synthdata serve` process on a free loopback port
(the HTTP protocol under test is the server's own); item 14 runs through the app on
both SQLite and PostgreSQL (the `client` fixture is parametrized over both).
"""

from __future__ import annotations

import http.client
import json
import select
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from benchmarks.service_processes import base_env, serve
from fastapi.testclient import TestClient

from synthdata.service.core.migrate import upgrade_head

HEADER_LIMIT = 16 * 1024
ATTACK_BYTES = 64 * 1024**2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`synthdata serve` (fault injection on, the default header limit) on loopback."""
    home = tmp_path_factory.mktemp("edge")
    env = base_env(
        home,
        SYNTHDATA_ENVIRONMENT="test",
        SYNTHDATA_FAULT_INJECTION="true",
        SYNTHDATA_LOG_LEVEL="WARNING",
        SYNTHDATA_LOG_FORMAT="json",
    )
    upgrade_head(env["SYNTHDATA_DATABASE_URL"])
    with serve("serve", env, home) as proc:
        yield "127.0.0.1", int(proc.url.rsplit(":", 1)[1])


def _status_and_body(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _read_response(sock: socket.socket, timeout: float = 30) -> bytes:
    """Everything the server sends until it closes (the client timeout only stops a hang)."""
    sock.settimeout(timeout)
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


# -- item 3: request heads are bounded ------------------------------------------------
def test_a_huge_header_is_answered_431_before_it_is_read(server: tuple[str, int]) -> None:
    """64 MB in one header to the unauthenticated /healthz: 431 long before the end."""
    sent = 0
    with socket.create_connection(server, timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\nX-Filler: ")
        piece = b"a" * 65536
        answered = False
        while sent < ATTACK_BYTES:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:  # the server has answered (or closed)
                answered = True
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        if not answered:
            sock.sendall(b"\r\n\r\n")
        status, body = _status_and_body(_read_response(sock))
    assert status == 431
    problem = json.loads(body)
    assert problem["status"] == 431
    assert problem["type"] == "urn:synthdata:problem:request-header-fields-too-large"
    # Answered while the client was still sending: the server stopped reading the head.
    assert sent < ATTACK_BYTES
    assert httpx.get(f"http://{server[0]}:{server[1]}/healthz", timeout=30).status_code == 200


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Filler": "a" * (HEADER_LIMIT // 2)}, 200),  # half the limit: fine
        ({"X-Filler": "a" * (HEADER_LIMIT + 1000)}, 431),  # one header over it
        ({f"X-Filler-{i}": "a" * 100 for i in range(200)}, 431),  # many small ones
    ],
    ids=["under", "one-large", "many-small"],
)
def test_a_head_arriving_whole_is_measured(
    server: tuple[str, int], headers: dict[str, str], expected: int
) -> None:
    """A head sent in one piece (parsed at once) is held to the same limit."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"GET /healthz HTTP/1.1\r\nHost: edge\r\n{lines}Connection: close\r\n\r\n"
    with socket.create_connection(server, timeout=30) as sock:
        sock.sendall(request.encode())
        status, _ = _status_and_body(_read_response(sock))
    assert status == expected


def test_a_kept_alive_connection_is_held_to_the_limit_too(server: tuple[str, int]) -> None:
    """After a normal request, the next head on the same connection is measured afresh."""
    with socket.create_connection(server, timeout=30) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        filler = b"a" * (4 * HEADER_LIMIT)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\nX-Filler: " + filler + b"\r\n\r\n")
        status, _ = _status_and_body(_read_response(sock))
    assert status == 431


# -- item 13: a 500 keeps the connection ------------------------------------------------
def test_a_500_keeps_the_keep_alive_connection(server: tuple[str, int]) -> None:
    """An unhandled exception answers 500, and the same connection serves what follows."""
    connection = http.client.HTTPConnection(*server, timeout=30)
    try:
        for _ in range(10):  # the connection dropped in 9 of 10 trials
            connection.request("GET", "/healthz", headers={"X-Synthdata-Fault": "exception"})
            failed = connection.getresponse()
            body = json.loads(failed.read())
            assert failed.status == 500, body
            assert body["type"] == "urn:synthdata:problem:internal-error"
            assert not failed.will_close
            local_port = connection.sock.getsockname()[1]

            connection.request("GET", "/healthz")
            following = connection.getresponse()
            following.read()
            assert following.status == 200
            assert connection.sock.getsockname()[1] == local_port  # the same connection
    finally:
        connection.close()


# -- item 14: NUL characters are refused at the edge ------------------------------------
@pytest.fixture
def nul_callers(client: TestClient, make_caller: Callable[..., Any], admin: Any) -> Any:
    from synthdata.service.customers.models import Role

    return {"admin": admin, "customer": make_caller(Role.CUSTOMER, name="Nul Ltd")}


NUL_REQUESTS = [
    # (who, method, url, JSON body, the field the problem names)
    ("customer", "GET", "/api/v1/datasets/ds_%00x", None, "path.dataset_id"),
    ("customer", "DELETE", "/api/v1/datasets/ds_%00x", None, "path.dataset_id"),
    ("customer", "GET", "/api/v1/models/%00", None, "path.model_id"),
    ("customer", "DELETE", "/api/v1/models/mdl%00", None, "path.model_id"),
    ("customer", "GET", "/api/v1/jobs/job_%00", None, "path.job_id"),
    ("customer", "GET", "/api/v1/jobs/job_%00/result", None, "path.job_id"),
    ("customer", "POST", "/api/v1/jobs/job_%00/cancel", None, "path.job_id"),
    ("admin", "GET", "/api/v1/customers/cus_%00", None, "path.customer_id"),
    ("admin", "POST", "/api/v1/keys/key_%00/revoke", None, "path.key_id"),
    ("admin", "GET", "/api/v1/incidents/inc_%00", None, "path.incident_id"),
    ("customer", "GET", "/api/v1/datasets?cursor=%00", None, "query.cursor"),
    ("customer", "GET", "/api/v1/jobs?limit=5&cursor=ab%00cd", None, "query.cursor"),
    ("admin", "GET", "/api/v1/jobs?customer_id=cus_%00", None, "query.customer_id"),
    ("admin", "GET", "/api/v1/admin/audit?action=customer%00", None, "query.action"),
    ("admin", "GET", "/api/v1/datasets?custom%00er_id=x", None, "query.custom\\u0000er_id"),
    ("admin", "POST", "/api/v1/customers", {"name": "Acme\x00"}, "body.name"),
    ("admin", "POST", "/api/v1/customers", {"name": "Acme", "plan": "gold\x00"}, "body.plan"),
    ("customer", "POST", "/api/v1/jobs", {"dataset_id": "ds_\x00", "rows": 5}, "body.dataset_id"),
    ("customer", "POST", "/api/v1/models", {"dataset_id": "ds_1", "name": "m\x00"}, "body.name"),
    ("admin", "POST", "/api/v1/customers/{customer}/keys", {"name": "k\x00"}, "body.name"),
    (
        "admin",
        "PUT",
        "/api/v1/admin/circuit-breakers/synthdata-api",
        {"enabled": False, "reason": "\x00"},
        "body.reason",
    ),
    (
        "customer",
        "POST",
        "/api/v1/jobs",
        {"model_id": "mdl_1", "rows": 5, "conditions": {"ci\x00ty": "Paris"}},
        "body.conditions",
    ),
]


@pytest.mark.parametrize(
    ("who", "method", "url", "body", "field"),
    NUL_REQUESTS,
    ids=[f"{m} {u} {field}" for _, m, u, _, field in NUL_REQUESTS],
)
def test_nul_characters_are_refused_with_422_naming_the_field(
    client: TestClient,
    nul_callers: dict[str, Any],
    who: str,
    method: str,
    url: str,
    body: Any,
    field: str,
) -> None:
    url = url.format(customer=nul_callers["customer"].customer_id)
    response = client.request(method, url, headers=nul_callers[who].headers, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:synthdata:problem:validation-error"
    assert problem["detail"].startswith(f"{field}: "), problem
    assert "NUL" in problem["detail"], problem


def test_a_refused_body_stores_nothing(client: TestClient, nul_callers: dict[str, Any]) -> None:
    admin, customer = nul_callers["admin"], nul_callers["customer"]
    customers = client.get("/api/v1/customers", headers=admin.headers).json()["items"]
    keys_url = f"/api/v1/customers/{customer.customer_id}/keys"
    keys = client.get(keys_url, headers=admin.headers).json()
    assert (
        client.post("/api/v1/customers", headers=admin.headers, json={"name": "\x00"}).status_code
        == 422
    )
    assert client.post(keys_url, headers=admin.headers, json={"name": "\x00"}).status_code == 422
    assert client.get("/api/v1/customers", headers=admin.headers).json()["items"] == customers
    assert client.get(keys_url, headers=admin.headers).json() == keys

"""Seconds until each configured certificate expires (`cert_expiry_seconds`).

Certificates come from PEM files (`SYNTHDATA_CERT_FILES`) and from live TLS
endpoints (`SYNTHDATA_TLS_ENDPOINTS`, `host:port`). Endpoints are contacted at
most once per `REFRESH_SECONDS`, so a scrape never waits on the network for long.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

REFRESH_SECONDS = 300.0
CONNECT_TIMEOUT = 3.0


def seconds_left(pem: bytes, now: datetime | None = None) -> float:
    """Seconds from `now` until the first certificate in `pem` expires (negative if past)."""
    certificate = x509.load_pem_x509_certificate(pem)
    moment = now or datetime.now(UTC)
    return (certificate.not_valid_after_utc - moment).total_seconds()


def endpoint_pem(endpoint: str) -> bytes:
    """The certificate a TLS endpoint presents (not verified: we only read its dates)."""
    host, _, port = endpoint.rpartition(":")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError(f"{endpoint} presented no certificate")
    return ssl.DER_cert_to_PEM_cert(der).encode()


class CertificateWatch:
    """Reads expiry for files every scrape and for endpoints every few minutes."""

    def __init__(self, files: list[Path], endpoints: list[str]) -> None:
        self.files = files
        self.endpoints = endpoints
        self._cache: dict[str, float] = {}
        self._checked = -REFRESH_SECONDS
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, float]:
        result: dict[str, float] = {}
        for file in self.files:
            try:
                result[str(file)] = seconds_left(file.read_bytes())
            except (OSError, ValueError):
                continue  # an unreadable file has no expiry to report
        with self._lock:
            if time.monotonic() - self._checked >= REFRESH_SECONDS:
                self._checked = time.monotonic()
                self._cache = {}
                for endpoint in self.endpoints:
                    try:
                        self._cache[endpoint] = seconds_left(endpoint_pem(endpoint))
                    except (OSError, ValueError, ssl.SSLError):
                        continue
            result.update(self._cache)
        return result

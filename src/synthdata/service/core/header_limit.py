"""A bound on the size of a request's head: 431 above `SYNTHDATA_MAX_HEADER_BYTES`.

`synthdata serve` runs uvicorn's httptools protocol (about half the CPU per request
of h11), which sets no bound: one 64 MB header sent to the unauthenticated
`/healthz` was kept whole (+125 MB RSS) and copied again with each piece that
arrived, so every other client waited 6 s. (uvicorn's h11 protocol has a bound,
`h11_max_incomplete_event_size`, but answers 400 and costs more per request.)

`HeaderLimitProtocol` counts the bytes of a head (request line and header fields) as
they arrive and answers 431 once they pass the limit, without reading on; a head
that arrives whole in one piece is measured when parsed. The 431 (a problem
document) is followed by a lingering close: what the client still sends is read and
dropped for a moment, so the answer reaches it instead of a connection reset.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from synthdata.service.core.problems import MEDIA_TYPE
from synthdata.service.core.settings import get_settings

# How long a refused connection still reads (and drops) what its client sends.
LINGER_SECONDS = 2.0
# Per header field, what the parser leaves out of name and value: ": " and CRLF.
_FIELD_OVERHEAD = 4
# The request line beyond method and target: " HTTP/1.1\r\n", and the blank line.
_LINE_OVERHEAD = 13


def too_large_response(limit: int) -> bytes:
    """The whole 431 response: a problem document, and the connection closes."""
    status = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    body = json.dumps(
        {
            "type": "urn:synthdata:problem:request-header-fields-too-large",
            "title": status.phrase,
            "status": status.value,
            "detail": f"the request line and header fields exceed {limit} bytes",
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        f"content-type: {MEDIA_TYPE}\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body


class HeaderLimitProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, answering 431 to a head over the limit."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_limit = get_settings().max_header_bytes
        self._in_head = True  # waiting for a head to end (also between requests)
        self._head_bytes = 0  # received while waiting (a lower bound: see data_received)
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:  # lingering: drop what the client still sends
            return
        # Counted only from the start of a piece that begins inside a head, so a
        # head that begins mid-piece is undercounted by less than one piece until
        # its next piece; on_headers_complete measures every head exactly anyway.
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._in_head and self._head_bytes > self.header_limit and not self._refused:
            self._refuse()

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        size = len(self.url) + _LINE_OVERHEAD + len(self.parser.get_method())
        size += sum(len(name) + len(value) + _FIELD_OVERHEAD for name, value in self.headers)
        if size > self.header_limit:
            self._refuse()
            return
        self._in_head, self._head_bytes = False, 0
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._in_head = True
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        if not self._refused:  # after a 431, the rest of the input is not parsed
            super().send_400_response(msg)

    def _refuse(self) -> None:
        self._refused = True
        source = self.client[0] if self.client else "unknown"
        self.logger.warning(
            "request head over %d bytes from %s: answered 431", self.header_limit, source
        )
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # a response is under way: no room for another
            return
        self.transport.write(too_large_response(self.header_limit))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

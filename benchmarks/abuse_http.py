"""Raw HTTP/1.1 clients for the abuse benchmark: what httpx will not send.

An attacker is not a polite client: a 64 MB header, a chunked body that never
declares its length, thousands of requests a second from one address. httpx cannot
send the first, and reports a server that answers before the body is complete as a
write error (losing the status), so these speak HTTP/1.1 on plain sockets. Every
connection is bound to the attacker's own loopback address (`127.0.0.x`), so the
server's per-source limits see the attacker and the bystander as different clients.
"""

from __future__ import annotations

import asyncio
import collections
import select
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

_HEAD_END = b"\r\n\r\n"
_SEND_SLICE = 1 << 20  # send big bodies in 1 MiB slices, checking for an early answer


@dataclass
class RawResult:
    """What one raw request got: the status (0 when none came) and how it ended."""

    status: int = 0
    outcome: str = "answered"  # answered, reset, closed-without-answer, timeout
    seconds: float = 0.0
    bytes_sent: int = 0
    body: bytes = b""

    @property
    def label(self) -> str:
        return str(self.status) if self.status else self.outcome


def request_head(method: str, target: str, host: str, headers: Iterable[str] = ()) -> bytes:
    """The request line and headers, ending with the blank line."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """`pieces` framed as a Transfer-Encoding: chunked body, with its final empty chunk."""
    for piece in pieces:
        if piece:
            yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def send_raw(
    server: tuple[str, int],
    source: str,
    head: bytes,
    body: Iterable[bytes] = (),
    timeout: float = 60.0,
) -> RawResult:
    """Send `head` then `body` on one connection from `source`; read the answer.

    The server may answer (413, 431) before everything is sent and close the
    connection: the answer is read as soon as it is there, not lost to a broken pipe.
    """
    result = RawResult()
    started = time.monotonic()
    deadline = started + timeout
    with socket.create_connection(server, timeout=timeout, source_address=(source, 0)) as sock:

        def pieces() -> Iterator[bytes]:
            for start in range(0, len(head), _SEND_SLICE):
                yield head[start : start + _SEND_SLICE]
            for part in body:
                for start in range(0, len(part), _SEND_SLICE):
                    yield part[start : start + _SEND_SLICE]

        try:
            for piece in pieces():
                if time.monotonic() > deadline:
                    result.outcome = "timeout"
                    break
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered (or closed) early
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                sock.sendall(piece)
                result.bytes_sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the answer, if any, is still in the receive buffer
        except TimeoutError:
            result.outcome = "timeout"
        if result.outcome != "timeout":
            _read_answer(sock, deadline, result)
    result.seconds = time.monotonic() - started
    return result


def _read_answer(sock: socket.socket, deadline: float, result: RawResult) -> None:
    buffer = bytearray()
    try:
        while _HEAD_END not in buffer and time.monotonic() < deadline:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = sock.recv(65536)
            if not data:
                break
            buffer += data
    except ConnectionResetError:
        result.outcome = "reset"
    except TimeoutError:
        result.outcome = "timeout"
    if _HEAD_END not in buffer:
        if result.outcome == "answered":
            result.outcome = "closed-without-answer"
        return
    head, _, rest = bytes(buffer).partition(_HEAD_END)
    try:
        result.status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        result.outcome = "bad-response"
    result.body = rest[:2048]


# -- floods: many keep-alive connections from one address, each sending back to back ------
@dataclass
class FloodResult:
    """Statuses per answer (or per failure) and the number of answers per second."""

    seconds: float = 0.0
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    bytes_received: int = 0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, int]:
    """One response: (status, body bytes). Content-Length or chunked bodies."""
    head = await reader.readuntil(_HEAD_END)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if "content-length" in fields:
        length = int(fields["content-length"])
        await reader.readexactly(length)
        return status, length
    if fields.get("transfer-encoding", "").lower() == "chunked":
        total = 0
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            total += size
            if size == 0:
                return status, total
    return status, 0


async def _flood(
    server: tuple[str, int],
    source: str,
    make_request: Callable[[int], bytes],
    connections: int,
    seconds: float,
) -> FloodResult:
    result = FloodResult()
    deadline = time.monotonic() + seconds
    counter = iter(range(1 << 62))

    async def one_connection() -> None:
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(*server, local_addr=(source, 0)), timeout=5
                )
            except (OSError, TimeoutError):
                result.statuses["connect-failed"] += 1
                await asyncio.sleep(0.05)
                continue
            try:
                while time.monotonic() < deadline:
                    writer.write(make_request(next(counter)))
                    remaining = max(0.1, deadline - time.monotonic() + 10)
                    status, size = await asyncio.wait_for(_read_response(reader), remaining)
                    result.statuses[str(status)] += 1
                    result.bytes_received += size
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result.statuses["connection-lost"] += 1
            except TimeoutError:
                result.statuses["timeout"] += 1
            finally:
                writer.close()

    started = time.monotonic()
    await asyncio.gather(*(one_connection() for _ in range(connections)))
    result.seconds = time.monotonic() - started
    return result


def flood(
    server: tuple[str, int],
    source: str,
    make_request: Callable[[int], bytes],
    *,
    connections: int = 16,
    seconds: float = 10.0,
) -> FloodResult:
    """`connections` keep-alive connections from `source`, each sending request
    `make_request(i)` as soon as the previous answer arrived, for `seconds`."""
    return asyncio.run(_flood(server, source, make_request, connections, seconds))

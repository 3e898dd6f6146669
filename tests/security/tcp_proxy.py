"""A TCP proxy a test controls: forward, refuse or stall, then resume.

Put it between the service and PostgreSQL or Redis to fake an outage of the real
server without touching the server:

- `refuse()`: every open connection is cut and new ones are refused (the listening
  socket is closed, so a connect fails at once with "connection refused"), as when
  the database host is down.
- `stall()`: connections stay open and new ones are accepted, but no byte moves in
  either direction, as when the server or the network hangs. Held bytes flow on
  `resume()`.
- `resume()`: forward again, on the same port.

The proxy runs an asyncio loop on a daemon thread; the control methods are called from
the test's thread and return once the proxy is in the new mode.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_CHUNK = 65536


class TcpProxy:
    """Listens on 127.0.0.1:`port` (a free one when 0) and forwards to `upstream`."""

    def __init__(self, upstream_host: str, upstream_port: int, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = port or _free_port()
        self.mode = "forward"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="proxy")
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- control (from the test's thread) ----------------------------------------------
    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._start())
        return self

    def refuse(self) -> None:
        """Cut every connection and refuse new ones."""
        self._call(self._refuse())

    def stall(self) -> None:
        """Keep connections (and accept new ones) but move no bytes."""
        self._call(self._stall())

    def resume(self) -> None:
        """Forward again (held bytes first)."""
        self._call(self._resume())

    def close(self) -> None:
        self._call(self._refuse())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def url_for(self, url: str) -> str:
        """`url` with its host:port replaced by this proxy's."""
        host, port = self.upstream
        return url.replace(f"{host}:{port}", f"127.0.0.1:{self.port}", 1)

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    # -- inside the loop ---------------------------------------------------------------
    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def _refuse(self) -> None:
        self.mode = "refuse"
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _stall(self) -> None:
        self.mode = "stall"
        assert self._flowing is not None
        self._flowing.clear()
        if self._server is None:
            await self._listen()

    async def _resume(self) -> None:
        self.mode = "forward"
        assert self._flowing is not None
        self._flowing.set()
        if self._server is None:
            await self._listen()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for end in (writer, up_writer):
            end.transport.abort()
            self._writers.discard(end)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        try:
            while True:
                await self._flowing.wait()  # a stall holds bytes before they are read
                data = await reader.read(_CHUNK)
                if not data:
                    break
                await self._flowing.wait()  # ... and bytes read just before it began
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def proxy_to(host: str, port: int) -> Iterator[TcpProxy]:
    """A started proxy to `host:port`, closed afterwards."""
    proxy = TcpProxy(host, port).start()
    try:
        yield proxy
    finally:
        proxy.close()

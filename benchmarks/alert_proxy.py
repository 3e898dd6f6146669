"""A TCP forwarder that can take a data store "down" or make it slow for its clients.

The benchmark's PostgreSQL and Redis are the machine's shared servers: they must keep
running for everybody else. Their clients in the benchmark (the exporters, and in the
production mode the API and the worker) connect through a TcpProxy instead, and the
fault happens in the proxy.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time


class TcpProxy:
    """A TCP forwarder from a free loopback port to `upstream`.

    Up, every connection is forwarded. Down, the open connections are dropped and every
    new one is reset as soon as it is accepted: to a client the server has gone away.
    With `delay_s` > 0, every block the server sends back waits that long first: a
    slow database, as its clients see one (each query's answer comes late).
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.delay_s = 0.0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._forwarding = True
        self._open: set[socket.socket] = set()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def down(self) -> None:
        """Drop every forwarded connection; reset new ones until `up()`."""
        with self._lock:
            self._forwarding = False
            dropped, self._open = self._open, set()
        for sock in dropped:
            _close(sock, reset=True)

    def up(self) -> None:
        with self._lock:
            self._forwarding = True

    def stop(self) -> None:
        self._closed.set()
        self.down()
        self._thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            if not self._forwarding:
                _close(client, reset=True)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client, reset=True)
                continue
            server.settimeout(None)
            with self._lock:
                forwarding = self._forwarding
                if forwarding:
                    self._open |= {client, server}
            if not forwarding:  # went down while connecting
                _close(client, reset=True)
                _close(server)
                continue
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        try:
            while data := src.recv(65536):
                if answers and self.delay_s > 0:
                    time.sleep(self.delay_s)
                dst.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open -= {src, dst}
        _close(src)
        _close(dst)


def _close(sock: socket.socket, reset: bool = False) -> None:
    """Close `sock`, waking a thread blocked on it; with `reset`, send a RST, not a FIN."""
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()

"""Running the ASGI app under uvicorn with its port bound before the app starts.

uvicorn's single-process server starts the app (its lifespan: migrations, the
`deployments` row, job threads) and only then binds the port, so a start on a
busy port used to record a deployment that never served a request. Here the port
is bound first: a busy port fails with one clear line, and nothing starts.
"""

from __future__ import annotations

import socket
from typing import Any, Protocol

from synthdata.engine.errors import SynthDataError

STARTUP_FAILURE = 3  # uvicorn's exit code when the app fails to start
# uvicorn's httptools protocol with a bound on request heads (431 above it).
HTTP_PROTOCOL = "synthdata.service.core.header_limit:HeaderLimitProtocol"


class CannotListen(SynthDataError):
    """The address to serve on is taken (or not ours to bind)."""


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` as uvicorn binds one (address reuse on)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotListen(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(is another server running there? choose another with --port)"
        ) from None
    sock.set_inheritable(True)
    return sock


class Companion(Protocol):
    """A process that lives as long as the server (the embedded job worker)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def run_server(
    app: str,
    *,
    host: str,
    port: int,
    workers: int,
    companion: Companion | None = None,
    **options: Any,
) -> None:
    """Serve the app factory `app` on `host:port` until interrupted.

    Raises `CannotListen` before anything starts when the port cannot be bound.
    `companion` starts once the port is bound and stops after the server has.
    """
    options.setdefault("http", HTTP_PROTOCOL)  # by name: worker processes import it

    sock = bind_listener(host, port)
    if companion is None:
        _serve(app, sock, host=host, port=port, workers=workers, **options)
        return
    companion.start()
    try:
        _serve(app, sock, host=host, port=port, workers=workers, **options)
    finally:
        companion.stop()


def _serve(
    app: str, sock: socket.socket, *, host: str, port: int, workers: int, **options: Any
) -> None:
    import uvicorn

    if workers > 1:
        # The supervisor binds in the parent before any worker process starts its app.
        sock.close()
        uvicorn.run(app, host=host, port=port, workers=workers, **options)
        return
    config = uvicorn.Config(app, host=host, port=port, workers=1, **options)
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    if not server.started:
        raise SystemExit(STARTUP_FAILURE)

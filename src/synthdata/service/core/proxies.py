"""Which address a request comes from: the peer, or what a trusted proxy says it relayed.

The caller's address decides the per-source rate limit, the bad-key lockout, the
audit log's `source` and the access log's `source.ip`, so it must not be the
caller's to choose. X-Forwarded-For is believed only from the proxies listed in
`SYNTHDATA_TRUSTED_PROXIES` (addresses or CIDRs), and then only its right-most
address that is not itself a trusted proxy: everything to the left of that was
written by the client and proves nothing. A peer that is not a trusted proxy is
the caller, whatever headers it sends.

The app applies this itself (uvicorn's `ProxyHeadersMiddleware`, made for the job),
so it holds under any ASGI server and in tests; `synthdata serve` turns uvicorn's
own copy off.
"""

from __future__ import annotations

import ipaddress

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from synthdata.service.core.settings import Settings


def trusted_networks(settings: Settings) -> list[str]:
    """The trusted proxies in the form uvicorn expects (CIDRs normalised)."""
    return [
        str(ipaddress.ip_network(entry, strict=False)) if "/" in entry else entry
        for entry in settings.trusted_proxy_list
    ]


def install_trusted_proxies(app: FastAPI, settings: Settings) -> None:
    """Outermost layer: rewrite the client address from trusted proxies' headers.

    Added last, so it wraps every other layer and they (the request observer
    included) all see the same address. With no trusted proxy there is nothing to
    rewrite and no layer is added.
    """
    networks = trusted_networks(settings)
    if networks:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=networks)

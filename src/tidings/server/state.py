"""What the ASGI app holds while it runs: the kernel and the edge's own parts.

One typed object, :class:`Edge`, is the app's only state (``app.state.edge``, set by
the lifespan in server/app.py); routes reach services through :func:`kernel_of`, in
one-line dependencies, never through an untyped bag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection

from tidings.kernel import Kernel
from tidings.protocol.limits import RateRule
from tidings.server.gateway import Gateway
from tidings.server.metrics import Metrics
from tidings.server.ratelimit import RateLimiter
from tidings.server.sessions import SessionWatch


@dataclass(frozen=True, slots=True)
class Edge:
    """The kernel, and what only the HTTP/WebSocket edge needs beside it."""

    kernel: Kernel
    metrics: Metrics
    limiter: RateLimiter
    rate_rules: dict[str, RateRule]
    """The rates as this server runs them (``limits`` with the operator's overrides)."""
    session_watch: SessionWatch
    gateway: Gateway
    console_sections: list[dict[str, Any]]
    """The web console's sections, each with the roles that see it."""


def app_edge(app: Any) -> Edge:
    """The running app's edge (an error before its lifespan has started)."""
    try:
        found = app.state.edge
    except AttributeError:
        raise RuntimeError("the app is not running: start its lifespan first") from None
    if not isinstance(found, Edge):
        raise TypeError(f"app.state.edge is a {type(found).__name__}, not an Edge")
    return found


def edge_of(conn: HTTPConnection) -> Edge:
    return app_edge(conn.app)


def kernel_of(conn: HTTPConnection) -> Kernel:
    """The services of the app serving this request."""
    return app_edge(conn.app).kernel

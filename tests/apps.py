"""Typed access from a test to the app it runs and to that app's kernel.

An in-process client (``api()``) or a client of a live server is attached to its app
once; ``kernel_of(client)`` is then the app's :class:`~tidings.kernel.Kernel`, so a test
takes a service as ``kernel_of(client).accounts``, typed, instead of reaching into
``app.state``.
"""

from __future__ import annotations

from typing import Protocol
from weakref import WeakKeyDictionary

import httpx
from fastapi import FastAPI

from tidings.kernel import Kernel
from tidings.server.state import Edge, app_edge

_APPS: WeakKeyDictionary[httpx.AsyncClient, FastAPI] = WeakKeyDictionary()


class HasApp(Protocol):
    @property
    def app(self) -> FastAPI: ...


def attach(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Say which app this client talks to (for :func:`app_of` and :func:`kernel_of`)."""
    _APPS[client] = app


def app_of(owner: httpx.AsyncClient | FastAPI | HasApp) -> FastAPI:
    if isinstance(owner, FastAPI):
        return owner
    if isinstance(owner, httpx.AsyncClient):
        found = _APPS.get(owner)
        if found is None:
            raise LookupError("this client was not attached to an app (tests/apps.attach)")
        return found
    return owner.app


def edge_of(owner: httpx.AsyncClient | FastAPI | HasApp) -> Edge:
    return app_edge(app_of(owner))


def kernel_of(owner: httpx.AsyncClient | FastAPI | HasApp) -> Kernel:
    return edge_of(owner).kernel

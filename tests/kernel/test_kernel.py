"""The kernel: built by constructor once, never patched afterwards, never handed out.

(a) no service or store gets a collaborator assigned after the kernel is built: the
app's lifespan and a few requests run, and every reference between the kernel's parts
is the one the builder made; the builder itself assigns none;
(b) no service holds the kernel;
(c) services work without HTTP: a kernel over a temporary SQLite database registers an
account, creates a channel and publishes a post.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path
from typing import Any

import httpx
import pytest

import tidings.server.app as app_module
from tests.conftest import make_settings, register, running_app
from tidings.kernel import Kernel, build, open_kernel
from tidings.services.events import Topic


def parts(kernel: Kernel) -> dict[str, object]:
    """Every service and store of the kernel, by field name."""
    found: dict[str, object] = {}
    for f in dataclasses.fields(kernel):
        value = getattr(kernel, f.name)
        if f.name in ("settings", "secrets", "clock"):
            continue  # values, not parts
        if f.name in ("stores", "blobs"):
            for g in dataclasses.fields(value):
                found[f"{f.name}.{g.name}"] = getattr(value, g.name)
        else:
            found[f.name] = value
    return found


def attributes(obj: object) -> dict[str, Any]:
    out = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if hasattr(obj, slot):
                out[slot] = getattr(obj, slot)
    return out


def references(kernel: Kernel) -> dict[tuple[str, str], tuple[int, str]]:
    """(part, attribute) -> what it refers to (an object's id, and a method's name), for
    every attribute that refers to another part of the kernel, a bound method of one,
    an event topic or a function."""
    ids = {id(v) for v in parts(kernel).values()}
    out: dict[tuple[str, str], tuple[int, str]] = {}
    for name, part in parts(kernel).items():
        for attr, value in attributes(part).items():
            target = getattr(value, "__self__", value)
            if id(target) in ids or isinstance(value, Topic) or inspect.isfunction(value):
                method = getattr(value, "__name__", "") if target is not value else ""
                out[(name, attr)] = (id(target), method)
    return out


async def test_no_part_is_rewired_after_the_kernel_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[tuple[Kernel, dict[tuple[str, str], tuple[int, str]]]] = []
    real = app_module.build_kernel

    def build_and_look(*args: Any, **kwargs: Any) -> Kernel:
        kernel = real(*args, **kwargs)
        built.append((kernel, references(kernel)))
        return kernel

    monkeypatch.setattr(app_module, "build_kernel", build_and_look)
    async with running_app(make_settings(tmp_path)) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            session = await register(client, "alice")
            auth = {"Authorization": f"Bearer {session['token']}"}
            r = await client.post("/api/v1/channels", headers=auth,
                                  json={"handle": "alices", "title": "Alice's"})
            assert r.status_code == 201, r.text
            r = await client.post("/api/v1/channels/alices/posts", headers=auth,
                                  json={"text": "hello"})
            assert r.status_code == 201, r.text
        (kernel, before), = built
        after = references(kernel)
    assert len(before) > 50  # the parts do refer to each other
    assert after == before


def test_the_builder_assigns_no_attribute() -> None:
    # Later services answer earlier ones through hooks and topics bound while building
    # (services/events.py), never by an attribute set on a built service.
    source = inspect.getsource(build)
    assigned = [ast.unparse(target)
                for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Attribute | ast.Subscript)]
    assert assigned == []


async def test_no_service_holds_the_kernel(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with open_kernel(settings, upgrade=True) as kernel:
        for name, part in parts(kernel).items():
            for attr, value in attributes(part).items():
                held = [value, getattr(value, "__self__", None)]
                if isinstance(value, (list, tuple, set, frozenset)):
                    held += list(value)
                if isinstance(value, dict):
                    held += list(value.values())
                assert not any(isinstance(h, Kernel) for h in held), f"{name}.{attr}"


async def test_services_work_without_http(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with open_kernel(settings, upgrade=True) as kernel:
        session = await kernel.accounts.register("alice", "a long enough passphrase", "cli")
        who = await kernel.accounts.authenticate(session.token)
        assert who.username == "alice"
        await kernel.channels.create(who, "alices", "Alice's")
        await kernel.posts.publish(who, "alices", "hello without a server")
        page = await kernel.posts.history(None, "alices")
        assert "hello without a server" in str(page)

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
import asyncio
import dataclasses
import inspect
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import tidings.server.app as app_module
from tests.conftest import make_settings, register, running_app
from tidings.kernel import Kernel, build, open_kernel
from tidings.protocol import limits
from tidings.services.events import Topic
from tidings.services.jobs import JobContext


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


def held(attr: str, value: object) -> list[tuple[str, object]]:
    """An attribute's value, and the items of a list, tuple or dict it holds (a topic's
    subscribers, a runner's handlers), each under its own name."""
    if isinstance(value, list | tuple):
        return [(attr, value), *((f"{attr}[{i}]", v) for i, v in enumerate(value))]
    if isinstance(value, dict):
        return [(attr, value), *((f"{attr}[{k!r}]", v) for k, v in value.items())]
    return [(attr, value)]


def references(kernel: Kernel) -> dict[tuple[str, str], tuple[int, str]]:
    """(part, attribute) -> what it refers to (an object's id, and a method's name), for
    every attribute (or item of a list or dict attribute: a topic's subscribers) that
    refers to another part of the kernel, a bound method of one, an event topic or a
    function."""
    ids = {id(v) for v in parts(kernel).values()}
    out: dict[tuple[str, str], tuple[int, str]] = {}
    for name, part in parts(kernel).items():
        for attr, whole in attributes(part).items():
            for key, value in held(attr, whole):
                target = getattr(value, "__self__", value)
                if id(target) in ids or isinstance(value, Topic) or inspect.isfunction(value):
                    method = getattr(value, "__name__", "") if target is not value else ""
                    out[(name, key)] = (id(target), method)
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
    # the builder's subscriptions are among them: the retro-scan and the job runner
    assert ("jobs_enqueued", "_handlers[0]") in before
    assert ("entries_added", "_handlers[0]") in before
    assert after == before


def rewires(node: ast.AST) -> bool:
    """An assignment to an attribute or an item, or a call of ``setattr``."""
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return any(isinstance(t, ast.Attribute | ast.Subscript) for t in targets)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "setattr")


def test_the_kernel_package_assigns_no_attribute() -> None:
    # Later services answer earlier ones through hooks and topics bound while building
    # (services/events.py), never by an attribute set on a built service: no module of
    # tidings/kernel/ assigns to an attribute or an item, or calls setattr.
    modules = sorted(Path(build.__file__).parent.glob("*.py"))
    assert {m.name for m in modules} >= {"build.py", "operator.py", "parts.py", "stores.py"}
    assigned = [f"{module.name}: {ast.unparse(node)}" for module in modules
                for node in ast.walk(ast.parse(module.read_text())) if rewires(node)]
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


async def test_a_job_queued_in_the_process_wakes_its_runner_at_once(tmp_path: Path) -> None:
    # The queue tells the runner (subscribed by the builder, services/events.py) instead
    # of the runner waiting for its next poll (limits.JOB_POLL_S).
    settings = make_settings(tmp_path)
    async with open_kernel(settings, upgrade=True) as kernel:
        ran = asyncio.Event()

        async def handler(context: JobContext) -> None:
            ran.set()

        runner = kernel.job_runner
        runner.register("kernel-test", handler)
        runner.start()
        try:
            await asyncio.sleep(0.2)  # the first claim found nothing; the runner waits
            started = time.monotonic()
            await kernel.jobs.enqueue("kernel-test")
            await asyncio.wait_for(ran.wait(), limits.JOB_POLL_S * 2)
            waited = time.monotonic() - started
        finally:
            await runner.stop()
    assert waited < limits.JOB_POLL_S / 2

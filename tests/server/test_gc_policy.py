"""The collector policy freezes long-lived objects and runs until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import gc

from tidings.server import gc_policy


async def test_freezes_periodically_and_stops_on_cancel() -> None:
    gc.unfreeze()
    task = asyncio.create_task(gc_policy.run(freeze_every=0.01, full_every=0.02))
    try:
        await asyncio.sleep(0.1)
        assert gc.get_freeze_count() > 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        gc.unfreeze()
    assert task.cancelled()

"""Keep CPython's cyclic collector from pausing a server full of idle connections.

Each open WebSocket is a few hundred long-lived objects. CPython 3.11 collects its
oldest generation when enough new survivors pile up, and such a full collection
walks every tracked object: with 10,000 connections we measured 1.1-1.5 s pauses
(gc.callbacks), in the middle of channel fan-out. ``gc.freeze()`` moves what exists
now into a permanent generation the collector skips; freed objects are still freed
by reference counting. So we freeze every few seconds (cheap: a list splice) and,
once an hour, unfreeze and collect everything once, so cyclic garbage of closed
connections does not accumulate. Instagram's "gc.freeze" write-up describes the
same trade.
"""

from __future__ import annotations

import asyncio
import gc
import time

from tidings.protocol import limits


async def run(freeze_every: float = limits.GC_FREEZE_INTERVAL_S,
              full_every: float = limits.GC_FULL_INTERVAL_S) -> None:
    """Run until cancelled (started by the app's lifespan)."""
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(freeze_every)
        if time.monotonic() - last_full >= full_every:
            gc.unfreeze()
            gc.collect()
            last_full = time.monotonic()
        gc.freeze()

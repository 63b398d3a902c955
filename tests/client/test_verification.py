"""Key verification: safety numbers, SAS over to-device messages, device-change warnings."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from tests.client.helpers import close_all, device, people
from tests.conftest import LiveServer
from tidings.client.sas_flow import SasState
from tidings.client.verification import (
    accept_sas,
    confirm,
    mark_verified,
    pending_start,
    pump,
    safety,
    start_sas,
    verified_devices,
)

Live = Callable[..., AbstractAsyncContextManager[LiveServer]]
DONE = {SasState.DONE}


async def test_safety_number_sas_and_device_change_warning(live_server: Live,
                                                           tmp_path: Path) -> None:
    async with live_server() as server:
        everyone = await people(server.url, tmp_path, ["ann", "ben"], per_person=1)
        try:
            ann, ben = everyone["ann"][0], everyone["ben"][0]
            n1, bens = await safety(ann, "ben")
            n2, _ = await safety(ben, "ann")
            assert n1 == n2 and len(n1) == 60 and n1.isdigit()

            flow_a = await start_sas(ann, "ben", ben.crypto.device_id)
            pending = await pending_start(ben, "ann")
            assert pending is not None and pending[0] == ann.crypto.device_id
            flow_b = await accept_sas(ben, "ann", pending[0], pending[1])
            assert await pump(ann, flow_a, {SasState.COMPARE}, 10) is SasState.COMPARE
            assert await pump(ben, flow_b, {SasState.COMPARE}, 10) is SasState.COMPARE
            assert flow_a.emojis() == flow_b.emojis() and len(flow_a.emojis()) == 7
            await confirm(ann, flow_a)
            await confirm(ben, flow_b)
            assert await pump(ben, flow_b, DONE, 10) is SasState.DONE
            assert await pump(ann, flow_a, DONE, 10) is SasState.DONE
            assert set(verified_devices(ann, "ben")) == {ben.crypto.device_id}
            assert set(verified_devices(ben, "ann")) == {ann.crypto.device_id}

            # a new device for verified ben: ann is warned once
            assert ann.crypto.warnings == []
            new = await device(server.url, tmp_path, "ben", "d9", first=False)
            await ann.send_text("ben", "hello")
            (warning,) = ann.crypto.warnings
            assert warning == {"user": "ben", "added": [new.crypto.device_id], "removed": []}
            await ann.send_text("ben", "again")
            assert len(ann.crypto.warnings) == 1
            mark_verified(ann, "ben", bens)
            await new.client.close()
        finally:
            await close_all(everyone)


async def test_sas_mismatch_is_not_verified(live_server: Live, tmp_path: Path) -> None:
    async with live_server() as server:
        everyone = await people(server.url, tmp_path, ["cat", "dan"], per_person=1)
        try:
            cat, dan = everyone["cat"][0], everyone["dan"][0]
            flow_c = await start_sas(cat, "dan", dan.crypto.device_id)
            pending = await pending_start(dan, "cat")
            assert pending is not None
            tampered = {**pending[1], "commitment": "0" * 64}  # a key swapped in transit
            flow_d = await accept_sas(dan, "cat", pending[0], tampered)
            await pump(cat, flow_c, {SasState.COMPARE}, 10)
            assert await pump(dan, flow_d, {SasState.COMPARE}, 10) is SasState.CANCELLED
            assert verified_devices(dan, "cat") == {}
        finally:
            await close_all(everyone)

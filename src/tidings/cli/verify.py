"""`tidings verify USER`: safety numbers and interactive SAS verification."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from tidings.cli.common import JsonOpt, ProfileOpt, ServerOpt, console, emit, err_console, run
from tidings.cli.common import profile_dir as _profile_dir
from tidings.cli.messages import passphrase
from tidings.client.messaging import Messenger
from tidings.client.sas_flow import SasState
from tidings.client.sdk import TidingsClient
from tidings.client.verification import (
    accept_sas,
    confirm,
    mark_verified,
    pending_start,
    pump,
    safety,
    start_sas,
)
from tidings.crypto import format_safety_number
from tidings.protocol.errors import TidingsError

SAS_TIMEOUT_S = 120.0


def verify(user: str,
           sas: Annotated[bool, typer.Option("--sas", help="Interactive emoji comparison with "
                                             "one of USER's devices (both sides run this).")
                          ] = False,
           device: Annotated[str | None, typer.Option(help="USER's device for --sas.")] = None,
           mark: Annotated[bool, typer.Option("--mark", help="The safety number matched: "
                                              "mark USER's current devices verified.")] = False,
           yes: Annotated[bool, typer.Option("--yes", help="Do not ask (tests).")] = False,
           timeout: Annotated[float, typer.Option(help="Seconds to wait for the other side.")
                              ] = SAS_TIMEOUT_S,
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Compare the 60-digit safety number with USER, or verify a device with --sas."""
    secret = passphrase()
    user = user.strip().lower()

    async def numbers(m: Messenger) -> dict[str, Any]:
        number, devices = await safety(m, user)
        if mark:
            mark_verified(m, user, devices)
        return {"user": user, "safety_number": number, "devices": sorted(devices),
                "verified": mark}

    async def interactive(m: Messenger) -> dict[str, Any]:
        pending = await pending_start(m, user)
        if pending is not None:
            flow = await accept_sas(m, user, pending[0], pending[1])
        else:
            _, devices = await safety(m, user)
            target = device or (next(iter(devices)) if len(devices) == 1 else None)
            if target is None:
                raise TidingsError(f"{user} has several devices; pick one with --device "
                                   f"({', '.join(sorted(devices))})", "device_required")
            flow = await start_sas(m, user, target)
            err_console.print(f"asked {user}'s device {target}; waiting for them to run "
                              f"`tidings verify {m.user} --sas`")
        if await pump(m, flow, {SasState.COMPARE}, timeout) is not SasState.COMPARE:
            raise TidingsError("verification cancelled", "sas_cancelled")
        shown = "  ".join(f"{e} {name}" for e, name in flow.emojis())
        err_console.print(f"compare with {user}: {shown}", highlight=False)
        if not yes and not typer.confirm("Do they match?"):
            raise TidingsError("the emoji did not match: not verified", "sas_mismatch")
        await confirm(m, flow)
        state = await pump(m, flow, {SasState.DONE}, timeout)
        return {"user": user, "device": flow.peer.device_id,
                "verified": state is SasState.DONE}

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(_profile_dir(profile), server) as client:
            m = Messenger.open(client, secret)
            return await (interactive(m) if sas else numbers(m))

    def human(r: dict[str, Any]) -> None:
        if "safety_number" in r:
            console.print(format_safety_number(r["safety_number"]))
            if not r["verified"]:
                console.print(f"if {user} sees the same number, run again with --mark")
        else:
            console.print(f"{user} device {r['device']}: "
                          f"{'verified' if r['verified'] else 'NOT verified'}")

    emit(json_out, run(go()), human)

"""Interactive emoji (SAS) verification of one of a contact's devices.

The flow is the client layer's (``client/sas_flow.py``, ``client/verification.py``);
its messages arrive through the app's one stream and are handed to this screen
(``TidingsApp.signal_handlers``) instead of a second reader.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from tidings.client.e2ee import Received
from tidings.client.sas_flow import SasFlow, SasState
from tidings.client.verification import (
    accept_sas,
    answer,
    confirm,
    send_to_device,
    settle,
    start_sas,
)
from tidings.protocol.errors import TidingsError
from tidings.protocol.keys import CryptoError
from tidings.tui.screens.new_chat import MODAL_CSS
from tidings.tui.session import Session

if TYPE_CHECKING:
    from tidings.tui.app import TidingsApp


class SasScreen(ModalScreen[str | None]):
    DEFAULT_CSS = MODAL_CSS + """
    SasScreen { align: center middle; }
    #emoji { text-style: bold; margin: 1 0; height: auto; }
    #devices { height: 6; display: none; }
    #devices.-shown { display: block; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, session: Session, user: str) -> None:
        super().__init__()
        self.session = session
        self.user = user
        self.flow: SasFlow | None = None
        self.early: list[Received] = []

    @property
    def tapp(self) -> TidingsApp:
        from tidings.tui.app import TidingsApp

        assert isinstance(self.app, TidingsApp)
        return self.app

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Emoji verification with [b]{self.user}[/b]", classes="hint")
            yield Static("starting…", id="state")
            yield OptionList(id="devices")
            yield Static(id="emoji", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("They match", id="match", variant="success", disabled=True)
                yield Button("They differ", id="differ", variant="error", disabled=True)
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.tapp.signal_handlers.append(self.on_signal)
        self.begin()

    def on_unmount(self) -> None:
        if self.on_signal in self.tapp.signal_handlers:
            self.tapp.signal_handlers.remove(self.on_signal)

    def state(self, text: str) -> None:
        self.query_one("#state", Static).update(text)

    @work(exclusive=True, group="sas")
    async def begin(self) -> None:
        m = self.session.m
        try:
            pending = self.tapp.pending_sas.pop(self.user, None)
            if pending is not None:
                self.flow = await accept_sas(m, self.user, pending.device,
                                             dict(pending.content.body))
                self.state(f"answering {self.user}'s device {pending.device}…")
            else:
                _, devices = await self.session.safety(self.user)
                if len(devices) == 1:
                    await self.start(next(iter(devices)))
                    return
                listing = self.query_one("#devices", OptionList)
                listing.add_options(Option(d, id=d) for d in sorted(devices))
                listing.add_class("-shown")
                listing.focus()
                self.state(f"{self.user} has {len(devices)} devices: pick the one in front "
                           "of them")
                return
        except (TidingsError, CryptoError) as exc:
            self.state(f"{exc.message} [{exc.code}]")
            return
        await self.replay()

    @on(OptionList.OptionSelected, "#devices")
    def _device(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None and self.flow is None:
            self.query_one("#devices", OptionList).remove_class("-shown")
            self.run_worker(self.start(event.option.id), group="sas")

    async def start(self, device: str) -> None:
        try:
            self.flow = await start_sas(self.session.m, self.user, device)
        except (TidingsError, CryptoError) as exc:
            self.state(f"{exc.message} [{exc.code}]")
            return
        self.state(f"asked {self.user}'s device {device}; waiting for them to accept "
                   f"(in the TUI: F6 in your chat; CLI: tidings verify {self.session.user} --sas)")
        await self.replay()

    async def replay(self) -> None:
        early, self.early = self.early, []
        for signal in early:
            await self.feed(signal)

    def on_signal(self, signal: Received) -> None:
        if self.flow is None:
            self.early.append(signal)
        else:
            self.run_worker(self.feed(signal), group="sas-feed")

    async def feed(self, signal: Received) -> None:
        flow = self.flow
        if flow is None:
            return
        try:
            if await answer(self.session.m, flow, signal):
                await self.show()
        except (TidingsError, CryptoError) as exc:
            self.state(f"{exc.message} [{exc.code}]")

    async def show(self) -> None:
        flow = self.flow
        if flow is None:
            return
        if flow.state is SasState.COMPARE:
            self.query_one("#emoji", Static).update("   ".join(
                f"{e} {name}" for e, name in flow.emojis()))
            self.state(f"Does {self.user} see the same emoji, in the same order?")
            self.query_one("#match", Button).disabled = False
            self.query_one("#differ", Button).disabled = False
        elif flow.state is SasState.WAIT_MAC:
            self.state(f"waiting for {self.user} to confirm…")
        elif flow.state is SasState.DONE:
            if await settle(self.session.m, flow):
                self.session.verified(self.user, flow.peer.device_id)
                self.dismiss(f"verified {self.user}'s device {flow.peer.device_id}")
            else:
                self.dismiss(f"{self.user}'s device keys changed during the check: not verified")
        elif flow.state is SasState.CANCELLED:
            self.state("verification cancelled: not verified")

    @on(Button.Pressed, "#match")
    async def _match(self) -> None:
        flow = self.flow
        if flow is None:
            return
        self.query_one("#match", Button).disabled = True
        self.query_one("#differ", Button).disabled = True
        try:
            await confirm(self.session.m, flow)
        except (TidingsError, CryptoError) as exc:
            self.state(f"{exc.message} [{exc.code}]")
            return
        await self.show()

    @on(Button.Pressed, "#differ")
    async def _differ(self) -> None:
        await self.stop("the emoji differ")
        self.dismiss(f"{self.user} NOT verified: the emoji differed")

    @on(Button.Pressed, "#cancel")
    async def action_cancel(self) -> None:
        await self.stop("cancelled")
        self.dismiss(None)

    async def stop(self, reason: str) -> None:
        flow = self.flow
        if flow is None or flow.state in (SasState.DONE, SasState.CANCELLED):
            return
        with contextlib.suppress(TidingsError, CryptoError):  # else the other side times out
            await send_to_device(self.session.m, flow.peer.user, flow.peer.device_id,
                                 flow.cancel(reason))

"""The device-change banner over the chat view."""

from __future__ import annotations

from textual.widgets import Static

from tidings.tui.state import Conversation


class DeviceBanner(Static):
    """Shown while the open conversation's contact has an unacknowledged device change."""

    DEFAULT_CSS = """
    DeviceBanner { display: none; background: $warning 30%; color: $text; padding: 0 1;
                   border: tall $warning; }
    DeviceBanner.-shown { display: block; }
    """

    def show(self, conv: Conversation | None) -> None:
        change = conv.change if conv is not None else None
        self.set_class(change is not None, "-shown")
        self.update(f"⚠ {change.text()}  (F9 hides this)" if change is not None else "")

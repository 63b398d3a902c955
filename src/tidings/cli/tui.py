"""`tidings tui`: the terminal chat client, on the same profile as the other commands."""

from __future__ import annotations

from tidings.cli.common import ProfileOpt, ServerOpt, profile_dir
from tidings.client.e2ee import passphrase_from_env


def tui(server: ServerOpt = None, profile: ProfileOpt = None) -> None:
    """Open the terminal chat client (logs in with this profile, or asks you to)."""
    from tidings.tui.app import TidingsApp  # Textual loads only for this command

    TidingsApp(profile_dir(profile), server, passphrase_from_env()).run()

"""The `tidings` command."""

from __future__ import annotations

from typing import Annotated

import typer

import tidings
from tidings.cli import (
    account,
    audit,
    banks,
    channel,
    demo,
    groups,
    media,
    messages,
    orders,
    posts,
    privacy,
    reports,
    server,
    staff,
    transparency,
    tui,
    verify,
)
from tidings.cli.common import fit_output
from tidings.cli.errors import TidingsGroup

app = typer.Typer(help="Tidings: private E2EE chats, public channels, trust and safety.",
                  no_args_is_help=True, pretty_exceptions_enable=False,
                  cls=TidingsGroup)  # every failure: one line or JSON (cli/errors.py)
app.add_typer(account.app, name="account")
app.add_typer(channel.app, name="channel")
app.add_typer(media.app, name="media")
app.add_typer(server.db_app, name="db")
app.add_typer(server.admin_app, name="admin")
app.add_typer(banks.app, name="bank")
app.add_typer(audit.app, name="audit")
app.add_typer(transparency.app, name="transparency")
app.add_typer(groups.app, name="group")
app.command()(server.serve)
app.command()(messages.send)
app.command()(messages.receive)
app.command()(messages.devices)
app.command()(messages.typing)
app.command()(messages.timer)
app.command()(verify.verify)
app.command()(tui.tui)
app.command("hash")(banks.hash_command)
app.add_typer(reports.report_app, name="report")
app.add_typer(orders.app, name="order")
server.admin_app.command("create-authority")(orders.create_authority)
app.add_typer(reports.mod_app, name="mod")
app.command()(reports.appeal)
app.command()(reports.notices)
app.command()(demo.demo)
app.command()(privacy.block)
app.command()(privacy.unblock)
app.command()(privacy.blocked)
app.add_typer(privacy.requests_app, name="requests")
app.add_typer(posts.app, name="post")
app.add_typer(staff.rules_app, name="rules")
app.add_typer(staff.job_app, name="job")
app.add_typer(staff.webhook_app, name="webhook")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tidings {tidings.__version__}")
        raise typer.Exit()


@app.callback()
def root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                               help="Show the version and exit.")] = False
         ) -> None:
    """Tidings."""
    fit_output()


def main() -> None:
    app()

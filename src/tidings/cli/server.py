"""Operator commands that run on the server host: serve, db, admin."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tidings.cli.common import (
    DataOpt,
    JsonOpt,
    console,
    database_url,
    emit,
    err_console,
    fail,
    read_password_stdin,
    run,
)
from tidings.config import Settings, load_settings
from tidings.storage import migrate

if TYPE_CHECKING:  # loaded by the commands that use them: client commands start faster
    from tidings.bus.base import Bus
    from tidings.kernel import Kernel
    from tidings.storage.database import Database

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
admin_app = typer.Typer(help="Operator actions on the server's own database.",
                        no_args_is_help=True)


def _database(settings: Settings, *, create: bool = False) -> Database:
    """The server's database; one that does not exist yet only where ``create``."""
    from tidings.storage.database import Database

    return Database(settings.resolved_database_url if create else database_url(settings))


async def _is_empty(db: Database) -> bool:
    """No table at all: a database nobody has used (never one with data but no revision)."""
    import sqlalchemy as sa

    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    return not names


def _secure_data(settings: Settings) -> None:
    """Data directory 0700, database and secret files 0600 (storage/data_dir.py)."""
    from tidings.storage import data_dir

    for line in data_dir.secure(settings.data_dir, settings.resolved_database_url):
        err_console.print(f"tightened permissions of the data directory: {line}",
                          markup=False, highlight=False)


def _settings(data: Path | None, **overrides: object) -> Settings:
    return load_settings(data, None, **overrides)


def serve(data: DataOpt = None,
          host: Annotated[str | None, typer.Option(help="Address to bind.")] = None,
          port: Annotated[int | None, typer.Option(help="Port to bind.")] = None,
          json_out: JsonOpt = False) -> None:
    """Run the Tidings server."""
    import uvicorn

    from tidings.server.app import create_app
    from tidings.server.serving import uvicorn_config

    settings = _settings(data, host=host, port=port)
    _secure_data(settings)

    async def check() -> None:
        """A new, empty database is created (the first start); any other revision than
        this code's is refused, with the command that fixes it."""
        db = _database(settings, create=True)
        try:
            if await migrate.current_revision(db) is None and await _is_empty(db):
                revision = await migrate.upgrade(db)
                if not json_out:
                    console.print(f"created the database in {settings.data_dir} "
                                  f"(revision {revision})", highlight=False)
            await migrate.check_current(db)
        finally:
            await db.close()

    asyncio.run(check())  # a SchemaMismatch is reported by cli/errors.py (exit 3)
    app = create_app(settings)
    emit(json_out, {"serving": settings.resolved_public_url, "data": str(settings.data_dir)},
         lambda v: console.print(f"Tidings serving at [bold]{v['serving']}[/bold] "
                                 f"(data in {v['data']})", highlight=False))
    uvicorn.Server(uvicorn_config(app, settings)).run()


@db_app.command()
def upgrade(data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """Create or migrate the database schema to this version."""
    settings = _settings(data)
    _secure_data(settings)

    async def go() -> str:
        db = _database(settings, create=True)
        try:
            return await migrate.upgrade(db)
        finally:
            await db.close()

    emit(json_out, {"revision": run(go())},
         lambda v: console.print(f"database at revision {v['revision']}"))


@db_app.command()
def status(data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """Show the schema revision and whether it matches this code."""
    settings = _settings(data)

    async def go() -> dict[str, object]:
        db = _database(settings)
        try:
            current = await migrate.current_revision(db)
        finally:
            await db.close()
        head = migrate.head_revision()
        return {"current": current, "head": head, "up_to_date": current == head}

    emit(json_out, run(go()),
         lambda s: console.print(f"current {s['current']}, code needs {s['head']}"))


@asynccontextmanager
async def _kernel(settings: Settings, bus: Bus | None = None) -> AsyncIterator[Kernel]:
    """The server's services for one operator command (tidings/kernel/operator.py)."""
    from tidings.kernel import open_kernel

    async with open_kernel(settings, bus=bus, database_url=database_url(settings)) as kernel:
        yield kernel


async def _redis_bus(settings: Settings) -> Bus | None:
    """The servers' Redis bus when they share one, to announce ended sessions at once.

    Without it (a single-process SQLite server) the servers read the session log within
    a second (storage/sessions.py); so a Redis that is down only costs that second.
    """
    if not settings.redis_url:
        return None
    from tidings.bus.redis import RedisBus

    bus = RedisBus(settings.redis_url, prefix=settings.redis_prefix + "bus:")
    await bus.start()
    return bus


@admin_app.command("create-user")
def create_user(name: str,
                role: Annotated[str, typer.Option(help="user, moderator, auditor, admin or "
                                                       "authority.")] = "user",
                password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
                data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """Create an account directly in the server's database (staff, authorities)."""
    if not password_stdin:
        fail("pass the password on standard input with --password-stdin", "missing_password")
    password = read_password_stdin()
    settings = _settings(data)

    async def go() -> dict[str, object]:
        async with _kernel(settings) as kernel:
            user = await kernel.accounts.create_user(name, password, role,
                                                     check_reserved=False)
        return {"username": user.username, "role": user.role}

    emit(json_out, run(go()),
         lambda u: console.print(f"created {u['username']} with role {u['role']}"))


@admin_app.command("set-password")
def set_password(name: str,
                 password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
                 data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """Reset an account's password (all its devices are logged out)."""
    if not password_stdin:
        fail("pass the password on standard input with --password-stdin", "missing_password")
    password = read_password_stdin()
    settings = _settings(data)

    async def go() -> str:
        bus = await _redis_bus(settings)  # live sockets close at once (else within 1 s)
        try:
            async with _kernel(settings, bus) as kernel:
                return (await kernel.accounts.set_password(name, password)).username
        finally:
            if bus is not None:
                await bus.close()

    emit(json_out, {"username": run(go()), "devices_logged_out": True},
         lambda v: console.print(f"password of {v['username']} changed; its devices were "
                                 "logged out", markup=False))


@admin_app.command("ensure-admin")
def ensure_admin(data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """Create an admin with a random password if there is none (printed once)."""
    settings = _settings(data)

    async def go() -> tuple[str, str] | None:
        async with _kernel(settings) as kernel:
            return await kernel.accounts.ensure_admin()

    created = run(go())
    if json_out:  # for scripts: the password is in the one object, shown once
        emit(True, {"created": created is not None,
                    "username": created[0] if created else None,
                    "password": created[1] if created else None}, print)
        return
    if created is None:
        console.print("an admin account exists already")
        return
    name, password = created
    sys.stdout.write(
        f"\nCreated the first admin account. This password is shown only once:\n"
        f"  username: {name}\n  password: {password}\n\n")


@admin_app.command("credentials-rekey")
def credentials_rekey(
        rotate: Annotated[bool, typer.Option(
            "--rotate", help="Make a new credentials key current first.")] = False,
        data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """Seal every stored partner credential again under the current key (after
    ``--rotate``: a new one), then drop the keys nothing uses. Stop the servers first:
    a running server knows only the keys it started with."""
    from tidings.server import secrets

    settings = _settings(data)
    if rotate:
        secrets.rotate_credentials_key(settings.data_dir)

    async def go() -> dict[str, object]:
        async with _kernel(settings) as kernel:
            result = await kernel.exchange_credentials.rekey()
        dropped = secrets.drop_credentials_keys(settings.data_dir, set())
        return {**result, "dropped_keys": dropped}

    emit(json_out, run(go()), lambda r: console.print(
        f"sealed {r['resealed']} of {r['stored']} stored credentials again under key "
        f"{r['key']}; dropped keys: {', '.join(map(str, r['dropped_keys'])) or 'none'}"))

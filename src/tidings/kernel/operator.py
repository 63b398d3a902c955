"""The kernel for one operator command (CLI, demo): open the database, build, close.

The same builder as the server's (:func:`~tidings.kernel.build.build_kernel`), over an
in-process bus unless the caller passes the servers' shared one; nothing is started
(no job runner, no matcher load), so a command only does the work it names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tidings.bus.base import Bus
from tidings.bus.local import LocalBus
from tidings.config import Settings
from tidings.kernel.build import build_kernel
from tidings.kernel.parts import Kernel
from tidings.server import secrets
from tidings.services.clock import Clock, system_clock
from tidings.storage import migrate
from tidings.storage.database import Database


@asynccontextmanager
async def open_kernel(settings: Settings, *, clock: Clock = system_clock,
                      bus: Bus | None = None, upgrade: bool = False,
                      database_url: str | None = None) -> AsyncIterator[Kernel]:
    """A kernel over the server's database and data directory, closed on exit.

    ``upgrade`` migrates the database first (the demo's fresh one); otherwise it must
    already be current, as the server requires.
    """
    db = Database(database_url or settings.resolved_database_url)
    try:
        if upgrade:
            await migrate.upgrade(db)
        else:
            await migrate.check_current(db)
        server_secrets = secrets.load_or_create(settings.data_dir)
        yield build_kernel(settings, clock, bus or LocalBus(), db, server_secrets)
    finally:
        await db.close()

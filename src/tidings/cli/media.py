"""`tidings media gc`: delete blobs nothing references (runs on the server host)."""

from __future__ import annotations

from typing import Annotated

import typer

from tidings.cli.common import DataOpt, JsonOpt, console, database_url, emit, run
from tidings.protocol import limits

app = typer.Typer(help="Media blobs of public channels.", no_args_is_help=True)


@app.command()
def gc(data: DataOpt = None,
       grace: Annotated[int, typer.Option(
           help="Keep unreferenced blobs younger than this many seconds.", min=0)
       ] = limits.BLOB_GC_GRACE_S,
       json_out: JsonOpt = False) -> None:
    """Delete media no post, channel avatar or profile avatar references any more."""
    from tidings.server.config import load_settings  # server side: loaded when used
    from tidings.services.clock import system_clock
    from tidings.services.media import MediaService
    from tidings.storage import migrate
    from tidings.storage.blobs import BlobStore
    from tidings.storage.database import Database
    from tidings.storage.media import MediaStore

    settings = load_settings(data, None)

    async def go() -> dict[str, int]:
        db = Database(database_url(settings))
        try:
            await migrate.check_current(db)
            svc = MediaService(db, MediaStore(), BlobStore(settings.data_dir / "blobs"),
                               system_clock)
            result = await svc.gc(grace)
        finally:
            await db.close()
        return {"blobs_removed": result.blobs_removed, "bytes_removed": result.bytes_removed}

    emit(json_out, run(go()), lambda r: console.print(
        f"removed {r['blobs_removed']} blobs ({r['bytes_removed']} bytes)"))

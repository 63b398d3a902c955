"""`tidings media ...`: fetch public media and previews of your uploads (API), and
`tidings media gc`, which deletes blobs nothing references (on the server host)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from tidings.cli.common import (
    DEFAULT_SERVER,
    DataOpt,
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    console,
    database_url,
    emit,
    profile_dir,
    run,
)
from tidings.client.profile import ProfileError
from tidings.client.sdk import TidingsClient
from tidings.protocol import limits

app = typer.Typer(help="Media of public channels: download, preview, clean up.",
                  no_args_is_help=True)


@app.command()
def gc(data: DataOpt = None,
       grace: Annotated[int, typer.Option(
           help="Keep unreferenced blobs younger than this many seconds.", min=0)
       ] = limits.BLOB_GC_GRACE_S,
       json_out: JsonOpt = False) -> None:
    """Delete media no post, channel avatar or profile avatar references any more."""
    from tidings.config import load_settings  # server side: loaded when used
    from tidings.kernel import open_kernel

    settings = load_settings(data, None)

    async def go() -> dict[str, int]:
        async with open_kernel(settings, database_url=database_url(settings)) as kernel:
            result = await kernel.media.gc(grace)
        return {"blobs_removed": result.blobs_removed, "bytes_removed": result.bytes_removed}

    emit(json_out, run(go()), lambda r: console.print(
        f"removed {r['blobs_removed']} blobs ({r['bytes_removed']} bytes)"))


def _client(server: str | None, profile: Path | None) -> TidingsClient:
    """Logged in if the profile is, else anonymous: public media needs no account."""
    try:
        return TidingsClient.from_profile(profile_dir(profile), server)
    except ProfileError:
        return TidingsClient(server or DEFAULT_SERVER)


@app.command()
def get(media: Annotated[str, typer.Argument(
            help="A media id (SHA-256), or a /media/... URL such as a signed preview URL.")],
        out: Annotated[Path, typer.Option("--out", help="Write the file here.",
                                          dir_okay=False)],
        server: ServerOpt = None, profile: ProfileOpt = None,
        json_out: JsonOpt = False) -> None:
    """Download public media (or your own upload through its preview URL)."""
    path = media if media.startswith("/media/") else f"/media/{quote(media, safe='')}"

    async def go() -> bytes:
        async with _client(server, profile) as client:
            return await client.download_media(path)

    data = run(go())
    out.write_bytes(data)
    emit(json_out, {"out": str(out), "bytes": len(data)},
         lambda r: console.print(f"wrote {r['bytes']} bytes to {out}", highlight=False,
                                 markup=False))


@app.command()
def preview(sha256: str, server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """A fresh signed preview URL for media you uploaded, before any post shows it."""

    async def go() -> dict[str, Any]:
        async with TidingsClient.from_profile(profile_dir(profile), server) as client:
            return await client.media_preview(sha256)

    emit(json_out, run(go()), lambda r: console.print(r["preview_url"], highlight=False,
                                                      markup=False))

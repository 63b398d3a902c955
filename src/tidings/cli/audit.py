"""``tidings audit verify``: check the audit log's hash chain on the server host.

Reads the database directly (``--data``, like ``tidings admin``), so it works even
when the server is down, and exits 1 naming the first changed, removed or
reordered record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from tidings.cli.common import DataOpt, JsonOpt, console, database_url, emit, fail, run

if TYPE_CHECKING:
    from tidings.moderation.audit import VerifyResult

app = typer.Typer(help="The moderation audit log (operator, on the server host).",
                  no_args_is_help=True)

EXIT_BROKEN = 1


@app.command()
def verify(data: DataOpt = None, json_out: JsonOpt = False) -> None:
    """Verify the hash chain of every audit record; exit 1 if it is broken."""
    # Server-side modules load here, not at import: client commands start faster.
    from tidings.config import load_settings
    from tidings.kernel import open_kernel
    from tidings.moderation.audit import verify_chain

    settings = load_settings(data, None)

    async def go() -> tuple[VerifyResult, int]:
        async with open_kernel(settings, database_url=database_url(settings)) as kernel, \
                kernel.db.read() as conn:
            chain = await kernel.stores.actions.audit_chain(conn)
        return verify_chain(chain), len(chain)

    result, count = run(go())
    value = {"ok": result.ok, "records": count, "first_bad_index": result.first_bad_index,
             "problem": result.problem.value if result.problem else None}
    emit(json_out, value, lambda v: console.print(
        f"audit log intact: {count} records" if result.ok else
        f"audit log BROKEN at record {v['first_bad_index']}: {v['problem']}"))
    if not result.ok:
        if not json_out:
            fail(f"record {result.first_bad_index} {value['problem']}", "audit_broken",
                 EXIT_BROKEN)
        raise typer.Exit(EXIT_BROKEN)

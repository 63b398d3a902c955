"""`tidings bank ...` (staff, through the API) and `tidings hash PATH` (local, no server).

Bank commands are client commands: log a staff account in with ``tidings account
login`` into a profile, then pass ``--profile``/``--server`` as for any command.
Long imports are sent in chunks of ``BANK_IMPORT_CHUNK_LINES`` lines with a progress
bar; each chunk names its first line so server errors quote the line in *your* file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from tidings.cli.bank_exchanges import app as exchanges_app
from tidings.cli.common import (
    JsonOpt,
    ProfileOpt,
    ServerOpt,
    cell,
    console,
    emit,
    err_console,
    fail,
    profile_dir,
    run,
    show,
)
from tidings.client import bank_requests as rq
from tidings.client.requests import API, Request
from tidings.client.sdk import TidingsClient
from tidings.protocol.limits import (
    BANK_ENTRIES_PAGE_MAX,
    BANK_IMPORT_CHUNK_LINES,
    BANK_UPLOAD_MAX_BYTES,
)

app = typer.Typer(help="Hash banks (staff): create, add, import, export, exchanges.",
                  no_args_is_help=True)
app.add_typer(exchanges_app, name="exchange")

Labels = Annotated[list[str] | None, typer.Option(
    "--label", "-l", help="A taxonomy label, e.g. category:terrorist_content or just "
    "terrorist_content (repeatable).")]


class BankFormat(StrEnum):
    """How a hash list is written: pytx/HMA local-file lines, or Tidings' bank CSV."""

    pytx = "pytx"
    csv = "csv"


Format = Annotated[BankFormat, typer.Option("--format", "-f",
                                            help="pytx (local-file lines) or csv.")]


def _client(server: str | None, profile: Path | None) -> TidingsClient:
    """A logged-in staff profile (ProfileError, shown by ``run``, if there is none)."""
    return TidingsClient.from_profile(profile_dir(profile), server)


async def _call(server: str | None, profile: Path | None, request: Request) -> Any:
    async with _client(server, profile) as client:
        return await client.call(request)


@app.command("list")
def list_banks(server: ServerOpt = None, profile: ProfileOpt = None,
               json_out: JsonOpt = False) -> None:
    """List banks with their entry counts."""
    result = run(_call(server, profile, rq.list_banks()))

    def human(value: dict[str, Any]) -> None:
        table = Table("bank", "kind", "enabled", "entries", "enabled entries", "threshold",
                      "description")
        for b in value["banks"]:
            table.add_row(b["name"], "negative" if b["negative"] else b["trust"],
                          "yes" if b["enabled"] else "no", str(b["entries"]),
                          str(b["enabled_entries"]), str(b["threshold_override"] or "default"),
                          b["description"])
        console.print(table)

    emit(json_out, result, human)


@app.command()
def create(name: str,
           description: Annotated[str, typer.Option(help="What the bank is for.")] = "",
           threshold: Annotated[int | None, typer.Option(
               help="Distance override for every signal type (default: each type's).")] = None,
           partner: Annotated[bool, typer.Option(
               "--partner", help="A partner's list (e.g. an imported file): its matches "
                                 "hold for review and never strike.")] = False,
           trusted: Annotated[bool, typer.Option(
               "--trusted", help="With --partner: a verified list whose matches reject "
                                 "at once (e.g. TCO-verified).")] = False,
           negative: Annotated[bool, typer.Option(
               "--negative", help="An allow list: its entries suppress other banks' "
                                  "matches of the same content.")] = False,
           server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
           ) -> None:
    """Create a bank (NAME like OPERATOR_TERROR). Banks an exchange feeds become
    partner banks by themselves."""
    result = run(_call(server, profile, rq.create_bank(name, description, threshold,
                                                       partner, trusted, negative)))
    emit(json_out, result, lambda b: console.print(
        f"created bank {b['name']} ({'negative' if b['negative'] else b['trust']})",
        markup=False))


@app.command("set")
def set_kind(name: str,
             trusted: Annotated[bool | None, typer.Option(
                 "--trusted/--untrusted", help="Matches of this partner bank reject "
                                               "(trusted) or hold for review.")] = None,
             partner: Annotated[bool | None, typer.Option(
                 "--partner/--own", help="A partner's list, or the operator's own.")] = None,
             negative: Annotated[bool | None, typer.Option(
                 "--negative/--positive", help="An allow list, or a list of what to "
                                               "act on.")] = None,
             enabled: Annotated[bool | None, typer.Option(
                 "--enabled/--disabled", help="Match this bank at all.")] = None,
             server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
             ) -> None:
    """Change what a bank is: own or partner, trusted, negative (allow list)."""
    changes = {k: v for k, v in (("trusted", trusted), ("partner", partner),
                                 ("negative", negative), ("enabled", enabled))
               if v is not None}
    if not changes:
        fail("give at least one of --trusted/--untrusted, --partner/--own, "
             "--negative/--positive, --enabled/--disabled", "usage")
    result = run(_call(server, profile, rq.update_bank(name, **changes)))
    emit(json_out, result, lambda b: console.print(
        f"bank {b['name']}: {'negative' if b['negative'] else b['trust']}, "
        f"{'enabled' if b['enabled'] else 'disabled'}", markup=False))


@app.command()
def add(name: str,
        file: Annotated[Path | None, typer.Option("--file", help="A file to hash and bank.",
                                                  exists=True, dir_okay=False)] = None,
        text: Annotated[str | None, typer.Option("--text", help="A text to bank.")] = None,
        url: Annotated[str | None, typer.Option(
            "--url", help="A URL, or domain:HOST for the host and its subdomains.")] = None,
        slogan: Annotated[bool, typer.Option(
            "--slogan", help="With --text: also match it inside longer posts (held for "
                             "review by default); at least 12 letters or digits.")] = False,
        label: Labels = None, source: Annotated[str, typer.Option(help="Provenance.")] = "cli",
        server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
        ) -> None:
    """Bank a file, a text or a URL with labels."""
    labels = label or []
    if sum(x is not None for x in (file, text, url)) != 1:
        fail("give exactly one of --file, --text or --url", "usage")
    if slogan and text is None:
        fail("--slogan applies to --text", "usage")
    if file is not None:
        if file.stat().st_size > BANK_UPLOAD_MAX_BYTES:
            fail(f"{file} is over {BANK_UPLOAD_MAX_BYTES} bytes", "file_too_large")
        request = rq.add_file(name, file.read_bytes(), labels, source)
    elif text is not None:
        request = rq.add_text(name, text, labels, source, slogan=slogan)
    else:
        request = rq.add_url(name, url or "", labels, source)
    result = run(_call(server, profile, request))

    def human(r: dict[str, Any]) -> None:
        console.print(f"added {r['added']} entries ({r['duplicates']} already banked)")
        for e in r["entries"]:
            console.print(f"  {e['id']}  {e['signal_type']}  {e['value'][:64]}")

    emit(json_out, result, human)


@app.command()
def disable(name: str, entry_id: int, server: ServerOpt = None, profile: ProfileOpt = None,
            json_out: JsonOpt = False) -> None:
    """Stop an entry from matching (kept for audit; `enable` undoes it)."""
    result = run(_call(server, profile, rq.set_entry(name, entry_id, enabled=False)))
    emit(json_out, result, lambda e: console.print(f"entry {e['id']} disabled"))


@app.command()
def enable(name: str, entry_id: int, server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Let a disabled entry match again (also restores a quarantined one)."""
    result = run(_call(server, profile, rq.set_entry(name, entry_id, enabled=True)))
    emit(json_out, result, lambda e: console.print(f"entry {e['id']} enabled"))


@app.command()
def edit(name: str,
         description: Annotated[str | None, typer.Option(help="What the bank is for.")] = None,
         threshold: Annotated[int | None, typer.Option(
             help="Distance override for every signal type.")] = None,
         server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
         ) -> None:
    """Change a bank's description or distance threshold."""
    changes = {k: v for k, v in (("description", description), ("threshold_override",
               threshold)) if v is not None}
    if not changes:
        fail("nothing to change: pass --description or --threshold", "no_change")
    result = run(_call(server, profile, rq.update_bank(name, **changes)))
    emit(json_out, result, lambda b: show(
        f"bank {b['name']}: " + ("enabled" if b["enabled"] else "disabled")
        + f", threshold {b['threshold_override'] or 'default'}"))


@app.command()
def entries(name: str,
            search: Annotated[str, typer.Option(
                "--search", help="Only entries whose value or source contains this.")] = "",
            limit: Annotated[int, typer.Option(min=1, max=BANK_ENTRIES_PAGE_MAX)] = 50,
            after: Annotated[int, typer.Option(
                "--after", min=0, help="Entries after this id (the last page's next).")] = 0,
            server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
            ) -> None:
    """A bank's entries, a page at a time."""
    result = run(_call(server, profile, rq.entries(name, search, after, limit)))

    def human(page: dict[str, Any]) -> None:
        table = Table("id", "type", "value", "labels", "source", "enabled")
        for e in page["entries"]:
            table.add_row(str(e["id"]), cell(e["signal_type"]), cell(str(e["value"])[:64]),
                          cell(", ".join(e["labels"])), cell(e["source"]),
                          "yes" if e["enabled"] else "no")
        console.print(table)
        if page["next_cursor"] is not None:
            show(f"more: --after {page['next_cursor']}")

    emit(json_out, result, human)


@app.command("match")
def match(file: Annotated[Path | None, typer.Argument(
              exists=True, dir_okay=False, help="A photo or video the server hashes.")] = None,
          signal: Annotated[tuple[str, str] | None, typer.Option(
              "--signal", metavar="TYPE VALUE",
              help="Look up one hash instead, e.g. --signal pdq <64 hex>.")] = None,
          server: ServerOpt = None, profile: ProfileOpt = None, json_out: JsonOpt = False
          ) -> None:
    """What a file or hash matches, from the server's matcher (as /hma/m/lookup answers).

    A file answers by signal type, then bank; a hash by bank. Each match names the
    banked item (``bank_content_id``) and the distance, within each bank's threshold."""
    if (file is None) == (signal is None):
        fail("give a FILE or --signal TYPE VALUE", "usage")
    if file is not None:
        if file.stat().st_size > BANK_UPLOAD_MAX_BYTES:
            fail(f"{file} is over {BANK_UPLOAD_MAX_BYTES} bytes", "file_too_large")
        request = rq.match_file(file.read_bytes(), file.name)
    else:
        assert signal is not None
        request = rq.match_signal(signal[0], signal[1])
    result = run(_call(server, profile, request))

    def human(value: dict[str, Any]) -> None:
        by_type = value if file is not None else {signal[0] if signal else "": value}
        table = Table("signal type", "bank", "bank content id", "distance")
        for signal_type, banks in by_type.items():
            for bank, found in banks.items():
                for m in found:
                    table.add_row(signal_type, bank, str(m["bank_content_id"]),
                                  str(m["distance"]))
        if table.row_count:
            console.print(table)
        else:
            console.print("no match")

    emit(json_out, result, human)


def chunks(text: str, fmt: str, size: int) -> Iterator[tuple[str, int, int]]:
    """``(chunk text, line_offset, records)``; CSV chunks repeat the header and cut only
    between records (a quoted field may span lines)."""
    lines = text.splitlines(keepends=True)
    if fmt == "pytx":
        for start in range(0, len(lines), size):
            part = lines[start:start + size]
            yield "".join(part), start, sum(1 for x in part if x.strip())
        return
    if not lines:
        yield "", 0, 0
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    header, start, rows = lines[0], 1, 0
    for _ in reader:
        rows += 1
        if rows == size:
            yield header + "".join(lines[start:reader.line_num]), start - 1, rows
            start, rows = reader.line_num, 0
    if rows or start == 1:
        yield header + "".join(lines[start:]), start - 1, rows


@app.command("import")
def import_file(name: str,
                file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                fmt: Format = BankFormat.pytx, label: Labels = None,
                chunk_lines: Annotated[int, typer.Option(
                    help="Records per request.")] = BANK_IMPORT_CHUNK_LINES,
                server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Import a pytx local-file list (needs --label) or a bank CSV, with progress."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        fail(f"{file} is not UTF-8 (byte {exc.start})", "invalid_utf8")
    parts = list(chunks(text, fmt.value, max(1, chunk_lines)))
    total = sum(n for _, _, n in parts)

    async def go() -> dict[str, int]:
        done = {"added": 0, "duplicates": 0}
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn(), console=err_console,
                      disable=json_out) as bar:
            task = bar.add_task(f"importing into {name}", total=total)
            async with _client(server, profile) as client:
                for part, offset, records in parts:
                    result = await client.call(rq.import_chunk(
                        name, part.encode(), fmt.value, label or [], offset,
                        source=file.name))
                    done["added"] += int(result["added"])
                    done["duplicates"] += int(result["duplicates"])
                    bar.advance(task, records)
        return done

    result = run(go())
    emit(json_out, result, lambda r: console.print(
        f"imported {r['added']} entries into {name} ({r['duplicates']} already banked)"))


@app.command("scan-status")
def scan_status(job_id: int, server: ServerOpt = None, profile: ProfileOpt = None,
                json_out: JsonOpt = False) -> None:
    """Progress of a retro-scan (or any background job) by id."""
    result = run(_call(server, profile, Request("GET", f"{API}/jobs/{job_id}")))

    def human(j: dict[str, Any]) -> None:
        p = j["progress"]
        total = p["total"] if p["total"] is not None else "?"
        console.print(f"job {j['id']} {j['kind']}: {j['state']}, {p['done']}/{total}"
                      + (f", result {j['result']}" if j["result"] else ""))

    emit(json_out, result, human)


PytxNames = Annotated[bool, typer.Option(
    "--pytx-names", help="pytx's signal-type names (video_md5, video_sha256...): what pytx "
    "and HMA read. pytx has no photo MD5 or text-hash type: those are left out and counted.")]


@app.command()
def export(name: str, fmt: Format = BankFormat.pytx,
           output: Annotated[Path | None, typer.Option(
               "--out", "-o", help="Write to this file instead of standard output.")] = None,
           pytx_names: PytxNames = False,
           server: ServerOpt = None, profile: ProfileOpt = None,
           json_out: JsonOpt = False) -> None:
    """Write a bank as pytx local-file lines (enabled entries) or CSV (all entries)."""
    if pytx_names and fmt is not BankFormat.pytx:
        fail("--pytx-names needs --format pytx", "usage")
    text: str = run(_call(server, profile, rq.export_names(
        name, fmt.value, "pytx" if pytx_names else "tidings")))
    if pytx_names:
        summary = run(_call(server, profile, rq.export_summary(name)))
        for reason, n in sorted(summary["omitted"].items()):
            err_console.print(f"left out {n}: {reason}", markup=False)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    if json_out:
        emit(True, {"bank": name, "format": fmt.value, "out": str(output)}
             if output is not None else {"bank": name, "format": fmt.value, "text": text},
             print)
    elif output is None:
        typer.echo(text, nl=False)
    else:
        err_console.print(f"wrote {output}", markup=False)


def hash_command(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
                 pytx_names: PytxNames = False, json_out: JsonOpt = False,
                 frames: Annotated[bool, typer.Option(
                     "--frames", help="A video's every frame as frame_number,quality,"
                     "pdq_hex,timestamp (the vPDQ reference tools' lines).")] = False) -> None:
    """Print the signals of a file (pytx local-file lines), computed here, no server.

    Only the file's own signals: the crop hashes the server banks beside a photo are
    not printed, so the output is what a matching post would produce. A video prints
    its ``vpdq`` signal (one PDQ hash a second, as Meta's vpdq computes it). With
    ``--pytx-names`` the lines are the ones pytx reads (a video's MD5 as video_md5; a
    photo's MD5 and SHA-256 have no pytx type and are left out, said on stderr)."""
    from tidings.moderation.pytx_names import omit_reason, to_pytx
    from tidings.protocol.errors import TidingsError
    from tidings.services.banks import file_signals
    from tidings.services.imaging import sniff

    if path.stat().st_size > BANK_UPLOAD_MAX_BYTES:
        fail(f"{path} is over {BANK_UPLOAD_MAX_BYTES} bytes", "file_too_large")
    data = path.read_bytes()
    if frames:
        _print_frames(data, json_out)
        return
    try:
        pairs = file_signals(data, augment=False)
    except TidingsError as exc:
        fail(exc.message, exc.code)
    if pytx_names:
        kind = sniff(data).kind
        named = [(to_pytx(t, kind), t, v) for t, v in pairs]
        for _, t, _ in (x for x in named if x[0] is None):
            err_console.print(f"left out: {omit_reason(t, kind)}", markup=False)
        pairs = [(n, v) for n, _, v in named if n is not None]
    emit(json_out, [{"signal_type": t, "value": v} for t, v in pairs],
         lambda rows: typer.echo("".join(f"{r['signal_type']} {r['value']}\n" for r in rows),
                                 nl=False))


def _print_frames(data: bytes, json_out: bool) -> None:
    from tidings.moderation import vpdq
    from tidings.moderation.errors import ModerationError

    try:
        hashed = vpdq.hash_video(data, 0, exact=True)
    except ModerationError as exc:
        fail(str(exc), exc.code)
    rows = [{"frame_number": f.frame_number, "quality": f.quality, "pdq_hex": f.pdq_hex,
             "timestamp": round(f.timestamp, 3)} for f in hashed.features]
    emit(json_out, rows, lambda _rows: typer.echo(
        "".join(f.frame_line() + "\n" for f in hashed.features), nl=False))

"""BankService + BankSync against both databases: matching follows the store."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.moderation.images import encode, generate
from tidings.moderation import MediaContent, TextContent, UrlContent
from tidings.moderation.engine import Surface, Verdict
from tidings.protocol.errors import BadRequest, NotFound
from tidings.services.bank_exchanges import Exchanges
from tidings.services.bank_sync import BankSync
from tidings.services.banks import BankService
from tidings.services.clock import ManualClock
from tidings.services.moderation import ModerationService
from tidings.storage.banks import BankStore
from tidings.storage.database import Database

TERROR = ["category:terrorist_content", "behaviour:recruitment"]
POST = ("Join the fighters of the black banner today, bring your brothers and "
        "your money to the northern camp before the winter offensive begins")


def make(db: Database, data: Path) -> tuple[ModerationService, BankSync, BankService]:
    moderation = ModerationService()
    sync = BankSync(db, BankStore(), moderation, data / "index" / "matcher.bin")
    svc = BankService(db, BankStore(), sync, ManualClock(), Exchanges(data, {}))
    return moderation, sync, svc


def jpeg(img: Image.Image, scale: float = 1.0, quality: int = 90) -> bytes:
    if scale != 1.0:
        img = img.resize((int(img.width * scale), int(img.height * scale)))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


async def check_photo(moderation: ModerationService, data: bytes) -> Verdict:
    return (await moderation.check(Surface.POST, [MediaContent(data, "image/jpeg")])).verdict


async def test_photo_banked_then_variant_rejected_disable_enable(database: Database,
                                                                 tmp_path: Path) -> None:
    moderation, sync, svc = make(database, tmp_path)
    await sync.load()
    await svc.create_bank("TERROR_OPS", "operator's own")
    banked = generate(7)
    result = await svc.add_file("TERROR_OPS", encode(banked), TERROR, "case 42")
    kinds = sorted(e.signal_type for e in result.added)
    assert kinds.count("pdq") >= 2 and {"md5", "sha256"} <= set(kinds)

    decision = await moderation.check(Surface.POST, [MediaContent(jpeg(banked, 0.8),
                                                                  "image/jpeg")])
    assert decision.verdict is Verdict.REJECT
    assert decision.reasons[0].bank == "TERROR_OPS"
    assert "terrorist content" in decision.reasons[0].ground
    assert await check_photo(moderation, jpeg(generate(8))) is Verdict.ALLOW

    pdq_ids = [e.id for e in result.added if e.signal_type == "pdq"]
    matcher = moderation.matcher
    for entry_id in pdq_ids:
        await svc.set_entry("TERROR_OPS", entry_id, enabled=False)
    assert moderation.matcher is matcher  # incremental: same matcher, no rebuild
    assert await check_photo(moderation, jpeg(banked, 0.8)) is Verdict.ALLOW
    await svc.set_entry("TERROR_OPS", pdq_ids[0], enabled=True)
    assert moderation.matcher is matcher
    assert await check_photo(moderation, jpeg(banked, 0.8)) is Verdict.REJECT

    await svc.update_bank("TERROR_OPS", {"enabled": False})
    assert await check_photo(moderation, jpeg(banked, 0.8)) is Verdict.ALLOW


async def test_text_and_url_variants(database: Database, tmp_path: Path) -> None:
    moderation, sync, svc = make(database, tmp_path)
    await sync.load()
    await svc.create_bank("TERROR_TEXT")
    await svc.add_text("TERROR_TEXT", POST, TERROR, "manual")
    await svc.add_url("TERROR_TEXT", "https://Bad.Example/recruit/?utm_source=x", TERROR, "m")
    await svc.add_signals("TERROR_TEXT", [("url", "domain:evil.example")], TERROR, "m")

    async def verdict(*contents: TextContent | UrlContent) -> Verdict:
        return (await moderation.check(Surface.POST, list(contents))).verdict

    assert await verdict(TextContent(POST.upper())) is Verdict.REJECT
    assert await verdict(TextContent(POST.replace("winter", "summer"))) is Verdict.REJECT
    assert await verdict(TextContent("see http://bad.example/recruit")) is Verdict.REJECT
    assert await verdict(UrlContent("https://cdn.evil.example/x.mp4")) is Verdict.REJECT
    assert await verdict(TextContent("Lovely weather for the northern camp trip")) \
        is Verdict.ALLOW
    assert await verdict(UrlContent("https://notevil.example/")) is Verdict.ALLOW


async def test_errors_are_typed(database: Database, tmp_path: Path) -> None:
    _, sync, svc = make(database, tmp_path)
    await sync.load()
    with pytest.raises(BadRequest, match="must match"):
        await svc.create_bank("lowercase")
    await svc.create_bank("TERROR_X")
    with pytest.raises(NotFound):
        await svc.add_text("NOPE_BANK", POST, TERROR, "")
    with pytest.raises(BadRequest) as err:
        await svc.add_signals("TERROR_X", [("pdq", "zz")], TERROR, "")
    assert err.value.code == "invalid_signal"
    with pytest.raises(BadRequest) as err:
        await svc.add_signals("TERROR_X", [("md5", "0" * 32)], ["category:nonsense"], "")
    assert err.value.code == "invalid_label"
    with pytest.raises(BadRequest) as err:
        await svc.import_text("TERROR_X", "md5 " + "0" * 32 + "\nmd5 nothex\n", "pytx",
                              TERROR, line_offset=100)
    assert err.value.details["line"] == 102 and "line 102" in err.value.message
    with pytest.raises(BadRequest):
        await svc.update_bank("TERROR_X", {"threshold_override": {"nope": 3}})


async def test_restart_from_snapshot_and_newer_log(database: Database,
                                                   tmp_path: Path) -> None:
    moderation, sync, svc = make(database, tmp_path)
    first = await sync.load()
    assert first.source == "database"
    await svc.create_bank("TERROR_SNAP", thresholds={"pdq": 20})
    img_a, img_b = generate(11), generate(12)
    a = await svc.add_file("TERROR_SNAP", encode(img_a), TERROR, "a")
    await svc.add_text("TERROR_SNAP", POST, TERROR, "t")
    await sync.save_snapshot()
    probes = [jpeg(img_a, 0.7), jpeg(img_b, 0.7), jpeg(generate(13))]
    before = [await check_photo(moderation, p) for p in probes]
    assert before == [Verdict.REJECT, Verdict.ALLOW, Verdict.ALLOW]

    # Another process writes after the snapshot: add B, disable A's md5.
    _, other_sync, other = make(database, tmp_path / "other")
    await other_sync.load()
    await other.add_file("TERROR_SNAP", encode(img_b), TERROR, "b")
    md5_a = next(e.id for e in a.added if e.signal_type == "md5")
    await other.set_entry("TERROR_SNAP", md5_a, enabled=False)

    restarted, sync2, _ = make(database, tmp_path)
    report = await sync2.load()
    assert report.source == "snapshot" and report.applied_after > 0
    after = [await check_photo(restarted, p) for p in probes]
    assert after == [Verdict.REJECT, Verdict.REJECT, Verdict.ALLOW]
    assert restarted.banks["TERROR_SNAP"].thresholds_by_type == {"pdq": 20}
    text = await restarted.check(Surface.POST, [TextContent(POST)])
    assert text.verdict is Verdict.REJECT and "recruitment" in " ".join(text.reasons[0].labels)
    exact = await restarted.check(Surface.POST, [MediaContent(encode(img_a), "image/png")])
    assert {r.signal_type for r in exact.reasons} == {"pdq", "sha256"}  # md5 disabled

    # The first process catches up by polling.
    assert await sync.refresh() > 0
    assert [await check_photo(moderation, p) for p in probes] == after

    # A snapshot of another database (same data directory, new database) is ignored.
    async with database.write() as conn:
        await conn.execute(sa.text("UPDATE bank_version SET epoch = 'restored'"))
    other_db, sync4, _ = make(database, tmp_path)
    assert (await sync4.load()).source == "database"
    assert [await check_photo(other_db, p) for p in probes] == after

    # A corrupt snapshot is ignored: full reload, same decisions.
    (tmp_path / "index" / "matcher.bin").write_bytes(b"garbage")
    again, sync3, _ = make(database, tmp_path)
    assert (await sync3.load()).source == "database"
    assert [await check_photo(again, p) for p in probes] == after


async def test_deleted_bank_stops_matching_in_every_process(database: Database,
                                                            tmp_path: Path) -> None:
    """A second process applies a bank's deletion from the change log: its matcher drops
    the deleted entries (their rows are gone) and forgets the bank; a file banked as one
    item shares one content id."""
    moderation, sync, svc = make(database, tmp_path / "a")
    other, other_sync, _ = make(database, tmp_path / "b")
    await sync.load()
    await other_sync.load()
    await svc.create_bank("TERROR_GONE")
    photo = jpeg(generate(31))
    added = await svc.add_file("TERROR_GONE", photo, TERROR, "test")
    assert len({e.content_id for e in added.added}) == 1
    assert added.added[0].content_id == min(e.id for e in added.added)
    await other_sync.refresh()
    assert await check_photo(other, photo) is Verdict.REJECT
    assert await svc.delete_bank("TERROR_GONE") == len(added.added)
    assert await check_photo(moderation, photo) is Verdict.ALLOW
    await other_sync.refresh()
    assert await check_photo(other, photo) is Verdict.ALLOW
    assert "TERROR_GONE" not in other.banks
    with pytest.raises(NotFound):
        await svc.bank("TERROR_GONE")

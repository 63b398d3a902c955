"""Matcher thresholds, disable/enable, serialisation; formats; exchanges."""

import typing as t
from datetime import UTC, datetime
from pathlib import Path

import pytest
from threatexchange.exchanges.impl.file_api import (
    FileCollaborationConfig,
    LocalFileSignalExchangeAPI,
)
from threatexchange.exchanges.impl.static_sample import StaticSampleSignalExchangeAPI

from tidings.moderation import (
    SIGNAL_TYPES,
    Bank,
    BankEntry,
    Matcher,
    Signal,
    fetch_batches,
    format_bank_csv,
    format_signal_file,
    parse_bank_csv,
    parse_signal_file,
)
from tidings.moderation.errors import (
    CorruptIndexError,
    DuplicateEntryError,
    FormatError,
    InvalidBankError,
    InvalidLabelError,
)
from tidings.moderation.formats import format_pytx_file
from tidings.moderation.labels import RECRUITMENT, SPAM, TERRORIST_CONTENT
from tidings.moderation.pytx_names import PYTX_SIGNAL_TYPES
from tidings.moderation.signal_types import PdqSignalType
from tidings.moderation.video import VpdqSignalType

PDQ = PdqSignalType.get_examples()[0]


def flip(h: str, bits: int) -> str:
    n = int(h, 16) ^ ((1 << bits) - 1)
    return f"{n:064x}"


def test_thresholds_per_bank_and_entry() -> None:
    m = Matcher()
    m.add(1, "pdq", PDQ, "BANK_A")
    m.add(2, "pdq", PDQ, "BANK_B", threshold=5)
    near = flip(PDQ, 20)
    assert {x.entry_id for x in m.query([Signal("pdq", near)])} == {1}
    assert m.query([Signal("pdq", near)], {"BANK_A": 10}) == []
    assert {x.entry_id for x in m.query([Signal("pdq", flip(PDQ, 40))], {"BANK_A": 45})} == {1}
    with pytest.raises(InvalidBankError):
        m.add(3, "pdq", PDQ, "BANK_A", threshold=200)
    with pytest.raises(DuplicateEntryError):
        m.add(1, "md5", "d41d8cd98f00b204e9800998ecf8427e", "BANK_A")


def test_disable_enable_and_round_trip() -> None:
    m = Matcher()
    m.add(1, "pdq", PDQ, "BANK_A")
    m.add(2, "md5", "D41D8CD98F00B204E9800998ECF8427E", "BANK_A")
    m.add(3, "url", "domain:example.org", "BANK_A")
    m.disable(1)
    signals = [
        Signal("pdq", PDQ),
        Signal("md5", "d41d8cd98f00b204e9800998ecf8427e"),
        Signal("url", "https://a.example.org/x"),
    ]
    assert {x.entry_id for x in m.query(signals)} == {2, 3}
    clone = Matcher.from_bytes(m.to_bytes())
    assert clone.query(signals) == m.query(signals)
    clone.enable(1)
    assert {x.entry_id for x in clone.query(signals)} == {1, 2, 3}
    with pytest.raises(CorruptIndexError):
        Matcher.from_bytes(m.to_bytes()[:-3])


def test_bank_model() -> None:
    Bank("GIFCT_TCAP", threshold_override=20)
    for bad in ["gifct", "AB", "A" * 65, "1ABC"]:
        with pytest.raises(InvalidBankError):
            Bank(bad)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    e = BankEntry.create(
        1,
        "TERROR",
        "md5",
        "D41D8CD98F00B204E9800998ECF8427E",
        frozenset({TERRORIST_CONTENT, RECRUITMENT}),
        "gifct",
        now,
    )
    assert e.value == "d41d8cd98f00b204e9800998ecf8427e"
    with pytest.raises(InvalidLabelError):
        BankEntry.create(2, "TERROR", "md5", e.value, frozenset({SPAM, RECRUITMENT}), "x", now)
    with pytest.raises(InvalidLabelError):
        BankEntry.create(2, "TERROR", "md5", e.value, frozenset({"category:csam"}), "x", now)


def test_signal_file_round_trip_and_errors() -> None:
    pairs = [
        (n, cls.validate_signal_str(v))
        for n, cls in SIGNAL_TYPES.items()
        for v in cls.get_examples()
    ]
    text = format_signal_file(pairs)
    assert [(p.signal_type, p.value) for p in parse_signal_file(text)] == pairs
    assert len(parse_signal_file(f"{PDQ}\n\n", default_signal_type="pdq")) == 1
    with pytest.raises(FormatError) as err:
        parse_signal_file(f"pdq {PDQ}\nmd5 nothex\n")
    assert err.value.line == 2
    with pytest.raises(FormatError) as err:
        parse_signal_file("tmk 00\n")
    assert err.value.line == 1


def test_bank_csv_round_trip_and_errors() -> None:
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    entries = [
        BankEntry.create(10, "TERROR", "pdq", PDQ, frozenset({TERRORIST_CONTENT}), "gifct", now),
        BankEntry.create(
            11,
            "TERROR",
            "url",
            "domain:bad.example",
            frozenset({TERRORIST_CONTENT, RECRUITMENT}),
            'op,"quoted"',
            now,
            False,
        ),
    ]
    assert parse_bank_csv(format_bank_csv(entries), first_entry_id=10) == entries
    good = format_bank_csv(entries).splitlines()
    for line_no, bad in [
        (1, "a,b\n"),
        (2, good[0] + "\n" + good[1].replace("true", "yes")),
        (3, "\n".join([*good[:2], "pdq,zz,TERROR,,x,2025-01-01T00:00:00+00:00,true"])),
        (2, good[0] + "\n" + good[1].replace("+00:00", "")),
    ]:
        with pytest.raises(FormatError) as err:
            parse_bank_csv(bad, first_entry_id=1)
        assert err.value.line == line_no, bad


def test_fetch_from_local_file_exchange(tmp_path: Path) -> None:
    path = tmp_path / "signals.txt"
    path.write_text(f"pdq {PDQ}\nmd5 D41D8CD98F00B204E9800998ECF8427E\nbogus x\n")
    api = LocalFileSignalExchangeAPI(
        FileCollaborationConfig(name="t", api="local_file", enabled=True, filename=str(path))
    )
    seen: list[tuple[int, int]] = []
    batches = list(fetch_batches(api, progress=lambda b, n: seen.append((b, n))))
    assert len(batches) == 1
    assert {(s.signal_type, s.value) for s in batches[0].signals} == {
        ("pdq", PDQ),
        ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    }
    assert batches[0].rejected == 1
    assert seen == [(1, 2)]


def test_fetch_from_static_sample_exchange() -> None:
    """Every type pytx names (pdq, video_md5, video_sha256, url, raw_text, vpdq) comes
    in: raw_text as the text forms Tidings banks, never as a slogan (a text matches
    inside longer posts only when a person opts it in)."""
    batches = list(fetch_batches(StaticSampleSignalExchangeAPI()))
    got = {s.signal_type for b in batches for s in b.signals}
    assert got == {"pdq", "md5", "sha256", "url", "vpdq",
                   "text_exact", "text_near", "text_quote"}
    assert set(SIGNAL_TYPES) - got == {"text_slogan"}
    assert batches[-1].checkpoint is not None


def test_pytx_names_read_and_written() -> None:
    """pytx's names import (video_md5 keeps that it is a video's); writing pytx names
    never calls a photo's MD5 a video's, and says what it left out."""
    vpdq = VpdqSignalType.get_examples()[0]
    text = (f"video_md5 {'A' * 32}\nvideo_sha256 {'b' * 64}\npdq {PDQ}\n"
            "raw_text An example of banned text, long enough to shingle for near matches.\n"
            f"md5 {'c' * 32}\nvpdq {vpdq}\n"
            "raw_text A longer example of banned text: long enough to be banked as a quote "
            "signature too, so a copy inside a longer post is caught.\n")
    parsed = parse_signal_file(text)
    assert [(p.line, p.signal_type, p.content_type) for p in parsed] == [
        (1, "md5", "video"), (2, "sha256", "video"), (3, "pdq", None),
        (4, "text_exact", None), (4, "text_near", None), (5, "md5", None),
        (6, "vpdq", None), (7, "text_exact", None), (7, "text_near", None),
        (7, "text_quote", None)]
    written = format_pytx_file([(p.signal_type, p.value, p.content_type) for p in parsed]
                               + [("md5", "d" * 32, "photo")])
    assert written.text.splitlines() == [f"video_md5 {'a' * 32}", f"video_sha256 {'b' * 64}",
                                         f"pdq {PDQ}", f"vpdq {vpdq}"]
    # Tidings' derived text forms have no pytx type: counted, never written
    assert written.omitted == {"text_exact: no pytx signal type": 2,
                               "text_near: no pytx signal type": 2,
                               "text_quote: no pytx signal type": 1,
                               "md5 of unknown media: pytx has only video_md5": 1,
                               "md5 of photo: pytx has only video_md5": 1}
    with pytest.raises(FormatError, match=r"known: .*video_md5"):
        parse_signal_file("photodna abc\n")


def test_pytx_reads_what_tidings_writes(tmp_path: Path) -> None:
    """pytx's own local-file exchange and conversion take every line we write."""
    path = tmp_path / "out.txt"
    path.write_text(format_pytx_file([("md5", "a" * 32, "video"), ("pdq", PDQ, None)]).text)
    api = LocalFileSignalExchangeAPI(
        FileCollaborationConfig(name="t", api="local_file", enabled=True, filename=str(path)))
    delta = next(iter(api.fetch_iter(list(PYTX_SIGNAL_TYPES), None)))
    converted = api.naive_convert_to_signal_type(list(PYTX_SIGNAL_TYPES), api.collab,
                                                 delta.updates)
    assert {cls.get_name(): list(v) for cls, v in converted.items()} == {
        "video_md5": ["a" * 32], "pdq": [PDQ]}


def test_ncmec_conversion_needs_pytx_classes() -> None:
    """NCMEC's mapping tests ``VideoMD5Signal in signal_types`` by identity: our own
    subclasses get nothing, pytx's classes get the video MD5 and the image PDQ."""
    from threatexchange.exchanges.clients.ncmec.hash_api import (
        NCMECEntryType,
        NCMECEntryUpdate,
    )
    from threatexchange.exchanges.impl.ncmec_api import (
        NCMECCollabConfig,
        NCMECSignalExchangeAPI,
    )

    from tidings.moderation.signal_types import Md5SignalType, PdqSignalType

    def entry(id: str, kind: NCMECEntryType, fps: dict[str, str]) -> NCMECEntryUpdate:
        return NCMECEntryUpdate(id=id, member_id=1, entry_type=kind, deleted=False,
                                fingerprints=fps, classification=None, feedback=None)

    updates = {"1-v": entry("v", NCMECEntryType.video, {"md5": "a" * 32}),
               "1-i": entry("i", NCMECEntryType.image, {"pdq": PDQ, "md5": "b" * 32})}
    collab = NCMECCollabConfig(name="n", environment=None)  # type: ignore[arg-type]
    ours = NCMECSignalExchangeAPI.naive_convert_to_signal_type(
        [Md5SignalType, PdqSignalType], collab, updates)
    assert ours == {}
    theirs = NCMECSignalExchangeAPI.naive_convert_to_signal_type(
        list(PYTX_SIGNAL_TYPES), collab, updates)
    assert {cls.get_name(): list(v) for cls, v in theirs.items()} == {
        "video_md5": ["a" * 32], "pdq": [PDQ]}


def test_threatexchange_deltas_convert_through_pytx() -> None:
    """ThreatExchange keys deltas by (threat type, indicator); pytx's converter maps
    HASH_PDQ and HASH_VIDEO_MD5 (and HASH_MD5 tagged media_type_video) onto its classes.
    Deletions and NON_MALICIOUS opinions become removals; the rest is counted."""
    from threatexchange.exchanges.fetch_state import FetchDelta, SignalOpinionCategory
    from threatexchange.exchanges.impl.fb_threatexchange_api import (
        FBThreatExchangeCheckpoint,
        FBThreatExchangeCollabConfig,
        FBThreatExchangeIndicatorRecord,
        FBThreatExchangeOpinion,
        FBThreatExchangeSignalExchangeAPI,
    )

    def record(category: SignalOpinionCategory, *tags: str) -> FBThreatExchangeIndicatorRecord:
        return FBThreatExchangeIndicatorRecord(
            [FBThreatExchangeOpinion(False, category, set(tags), 1, 2)])

    positive = SignalOpinionCategory.POSITIVE_CLASS

    class Recorded(FBThreatExchangeSignalExchangeAPI):
        def fetch_iter(self, _types: t.Any, _checkpoint: t.Any) -> t.Iterator[t.Any]:
            yield FetchDelta({
                ("HASH_PDQ", PDQ): record(positive),
                ("HASH_VIDEO_MD5", "a" * 32): record(positive),
                ("HASH_MD5", "b" * 32): record(positive, "media_type_video"),
                ("HASH_MD5", "c" * 32): record(positive),  # not tagged video: left out
                ("HASH_TMK", "00"): record(positive),
                ("HASH_VIDEO_MD5", "d" * 32): None,  # deleted
                ("HASH_VIDEO_MD5", "e" * 32): record(SignalOpinionCategory.NEGATIVE_CLASS),
            }, FBThreatExchangeCheckpoint(1))

    api = Recorded(None, FBThreatExchangeCollabConfig(name="te", privacy_group=1))  # type: ignore[arg-type]
    [batch] = list(fetch_batches(api))
    got = {(s.signal_type, s.value, s.content_type, s.metadata is None) for s in batch.signals}
    assert got == {("pdq", PDQ, None, False), ("md5", "a" * 32, "video", False),
                   ("md5", "b" * 32, "video", False), ("md5", "d" * 32, "video", True),
                   ("md5", "e" * 32, "video", True)}
    assert batch.rejected_by_reason == {
        "HASH_MD5: left out by pytx's mapping (tags)": 1,
        "HASH_TMK: no pytx signal type for it": 1,
        "video_md5 marked non-malicious upstream: not banked, disabled if held": 1}


def test_bank_csv_keeps_content_type_and_reads_legacy_files() -> None:
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    entry = BankEntry.create(3, "TERROR", "md5", "a" * 32, frozenset({TERRORIST_CONTENT}),
                             "tcap", now, content_type="video")
    text = format_bank_csv([entry])
    assert text.splitlines()[0].endswith(",enabled,content_type")
    assert parse_bank_csv(text, first_entry_id=3) == [entry]
    legacy = "\n".join(line.rsplit(",", 1)[0] for line in text.splitlines()) + "\n"
    [old] = parse_bank_csv(legacy, first_entry_id=3)
    assert old.content_type is None and old.value == "a" * 32
    with pytest.raises(FormatError) as err:
        parse_bank_csv(text.replace(",video", ",audio"), first_entry_id=3)
    assert err.value.line == 2

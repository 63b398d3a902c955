"""Every registered signal type passes from its own examples (pytx style)."""

import pytest
from threatexchange.signal_type.index import SignalTypeIndex

from tidings.moderation import SIGNAL_TYPES, Matcher, MediaContent, Signal, UrlContent
from tidings.moderation.indexes import MatchIndex
from tidings.moderation.manifest import QUERY_TYPES, signals_for
from tidings.moderation.signal_types import HasThreshold, QueryHasher


@pytest.mark.parametrize("name", sorted(SIGNAL_TYPES))
def test_signal_type_contract(name: str) -> None:
    cls = SIGNAL_TYPES[name]
    assert cls.get_name() == name
    assert cls.get_content_types()
    assert issubclass(cls.get_index_cls(), SignalTypeIndex)
    examples = cls.get_examples()
    assert examples
    normalized = [cls.validate_signal_str(e) for e in examples]
    assert [cls.validate_signal_str(v) for v in normalized] == normalized  # idempotent
    if issubclass(cls, HasThreshold):
        assert 0 <= cls.default_threshold() <= cls.max_threshold()
    index_cls = cls.get_index_cls()
    assert issubclass(index_cls, MatchIndex)
    index = index_cls.build([(v, i) for i, v in enumerate(normalized)])
    for i, v in enumerate(normalized):
        assert i in {m.metadata for m in index.query(v)}
    clone = index_cls.from_bytes(index.to_bytes())
    for i, v in enumerate(normalized):
        assert i in {h.entry_id for h in clone.search(v, 0)}
    matcher = Matcher()
    for i, v in enumerate(normalized):
        matcher.add(i, name, v, "EXAMPLES")
    for i, v in enumerate(normalized):
        hits = matcher.query([Signal(name, v)])
        assert i in {m.entry_id for m in hits}


def test_checks_dispatch_on_content_types_from_the_registry() -> None:
    """Which types hash a checked content follows from each type's content types: the
    ones made for it alone first, then the byte hashes and links (pytx's dispatch)."""
    names = {ct.get_name(): [cls.get_name() for cls in types]
             for ct, types in QUERY_TYPES.items()}
    assert names == {
        "text": ["text_exact", "text_near", "text_quote", "text_slogan", "url"],
        "url": ["url"],
        "photo": ["pdq", "md5", "sha256"],
        "video": ["vpdq", "md5", "sha256"],
        "file": ["md5", "sha256"],
    }
    for cls in SIGNAL_TYPES.values():
        assert issubclass(cls, QueryHasher)
        for ct in cls.query_content_types():
            assert cls in QUERY_TYPES[ct]
    assert [s.signal_type for s in signals_for(MediaContent(b"%PDF-1", "application/pdf"))
            ] == ["md5", "sha256"]
    assert signals_for(UrlContent("domain:Bad.Example")) == [Signal("url", "domain:bad.example")]

"""Every registered signal type passes from its own examples (pytx style)."""

import pytest
from threatexchange.signal_type.index import SignalTypeIndex

from tidings.moderation import SIGNAL_TYPES, Matcher, Signal
from tidings.moderation.indexes import MatchIndex
from tidings.moderation.signal_types import HasThreshold


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

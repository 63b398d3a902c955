"""Audit chain: any change, removal, insertion or reordering is found at its index."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.moderation.audit import (
    GENESIS_HASH,
    AuditError,
    AuditRecord,
    ChainedRecord,
    Problem,
    append,
    build_chain,
    canonical_json,
    record_hash,
    verify_chain,
)

json_leaf = st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=20)
details = st.dictionaries(st.text(max_size=8), st.recursive(
    json_leaf, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=6), max_size=4)
records = st.builds(AuditRecord, actor=st.sampled_from(["system", "moderator:7", "authority:x"]),
                    action=st.sampled_from(["reject", "strike", "ban_channel", "decide"]),
                    rule=st.text(max_size=12), target=st.text(max_size=12),
                    time_ms=st.integers(0, 2**48), details=details)
chains = st.lists(records, min_size=1, max_size=12).map(build_chain)


@given(chains)
def test_built_chains_verify(chain):
    assert verify_chain(chain).ok
    assert verify_chain(chain, expected_head=chain[-1].record_hash).ok
    assert chain[0].prev_hash == GENESIS_HASH


@given(chains, st.data())
def test_changed_record_is_found(chain, data):
    i = data.draw(st.integers(0, len(chain) - 1))
    old = chain[i].record
    new = dataclasses.replace(old, time_ms=old.time_ms + 1)
    tampered = [*chain[:i], dataclasses.replace(chain[i], record=new), *chain[i + 1:]]
    assert verify_chain(tampered) == verify_chain(tampered).__class__(False, i, Problem.CHANGED)


@given(chains, st.data())
def test_removed_record_is_found(chain, data):
    i = data.draw(st.integers(0, len(chain) - 1))
    cut = chain[:i] + chain[i + 1:]
    result = verify_chain(cut, expected_head=chain[-1].record_hash)
    assert not result.ok
    if i < len(chain) - 1:
        assert result.first_bad_index == i and result.problem is Problem.BROKEN_LINK
    else:
        assert result.first_bad_index == len(cut) and result.problem is Problem.TRUNCATED


@given(chains, records, st.data())
def test_inserted_record_is_found(chain, extra, data):
    i = data.draw(st.integers(0, len(chain)))
    forged = append(chain[:i], extra)  # a well-formed link, recomputed by the forger
    tampered = [*chain[:i], forged, *chain[i:]]
    result = verify_chain(tampered, expected_head=chain[-1].record_hash)
    assert not result.ok
    assert result.first_bad_index == (i + 1 if i < len(chain) else len(tampered))


@given(chains, st.data())
def test_swapped_records_are_found(chain, data):
    if len(chain) < 2:
        return
    i = data.draw(st.integers(0, len(chain) - 2))
    if chain[i].record_hash == chain[i + 1].record_hash:
        return
    tampered = [*chain[:i], chain[i + 1], chain[i], *chain[i + 2:]]
    result = verify_chain(tampered)
    assert not result.ok and result.first_bad_index == i


def test_rehashed_suffix_needs_the_head():
    chain = build_chain([AuditRecord("system", "reject", "r", f"t{i}", i) for i in range(5)])
    forged = build_chain([c.record for c in chain[:2]]
                         + [AuditRecord("system", "allow", "r", "t2", 2)]
                         + [c.record for c in chain[3:]])
    assert verify_chain(forged).ok  # internally consistent...
    result = verify_chain(forged, expected_head=chain[-1].record_hash)
    assert result.problem is Problem.TRUNCATED  # ...but not the head published earlier


def test_canonical_json_is_stable_and_rejects_floats():
    a = AuditRecord("system", "x", "r", "t", 1, {"b": 1, "a": [True, None]})
    b = AuditRecord("system", "x", "r", "t", 1, {"a": [True, None], "b": 1})
    assert canonical_json(a) == canonical_json(b)
    assert record_hash(GENESIS_HASH, a) == record_hash(GENESIS_HASH, b)
    with pytest.raises(AuditError):
        canonical_json(AuditRecord("system", "x", "r", "t", 1, {"f": 0.5}))


def test_bad_index_is_reported():
    chain = build_chain([AuditRecord("system", "x", "r", "t", 1)])
    moved = [ChainedRecord(3, chain[0].record, chain[0].prev_hash, chain[0].record_hash)]
    assert verify_chain(moved).problem is Problem.BAD_INDEX

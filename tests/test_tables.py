"""The pages' tables and card Markdown, built without Streamlit (view.tables, view.cards,
retrieval.beir.dataset_table / local_datasets), on the tiny fixture."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from retrieval import failures, stats
from retrieval.beir import BeirDataset, catalogue, dataset_table, local_datasets
from retrieval.evaluate import evaluate
from retrieval.run import Run
from view import cards, columns, tables, text


def tiny(tiny_dir: Path) -> BeirDataset:
    return BeirDataset(tiny_dir, "tiny")


RUN_A = Run.from_records([("q1", "d1", 3.0), ("q1", "d5", 2.0), ("q2", "d2", 1.0), ("q4", "d1", 1.0)], "a")
RUN_B = Run.from_records([("q1", "d3", 3.0), ("q2", "d6", 2.0), ("q2", "d2", 1.0), ("q4", "d2", 1.0)], "b")


def test_dataset_table_lists_the_catalogue_and_local_extras(tiny_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.delenv("BEIR_DATA_DIR", raising=False)  # only the folder given counts
    data_dir = tiny_dir.parent
    assert local_datasets(data_dir, tmp_path / "cache") == ["tiny"]
    frame = dataset_table(data_dir, tmp_path / "cache", local_datasets(data_dir, tmp_path / "cache")).set_index("dataset")
    assert list(frame.index[: len(catalogue())]) == list(catalogue())
    assert frame.loc["tiny", "status"] == "here (not in the BEIR catalogue)"
    info = catalogue()["scifact"]
    row = frame.loc["scifact"]
    assert (row["documents"], row["test queries"], row["splits"]) == (info.corpus_docs, info.test_queries, ", ".join(info.splits))
    assert row["status"] in {"downloadable", "here"}
    (data_dir / "scifact").mkdir()
    (data_dir / "scifact" / "corpus.jsonl").write_text("", encoding="utf-8")
    assert local_datasets(data_dir, tmp_path / "cache") == ["scifact", "tiny"]
    assert dataset_table(data_dir, tmp_path / "cache").set_index("dataset").loc["scifact", "status"] == "here"


def test_failure_tables_carry_query_text_titles_and_counts(tiny_dir: Path):
    ds = tiny(tiny_dir)
    qrels = ds.qrels("test")
    cmp = stats.compare_pair(evaluate(RUN_A, qrels), evaluate(RUN_B, qrels), with_tests=False)
    wins = tables.wins_table(cmp.largest("b", 15), ds.queries, "A", "B")
    assert list(wins.columns) == ["qid", "B − A", "A", "B", "query"]  # numbers before the long text
    assert all(ds.queries[q] == t for q, t in zip(wins["qid"], wins["query"]))
    assert (wins["B − A"] == wins["B"] - wins["A"]).all()
    zero = failures.all_zero_queries({"a": evaluate(RUN_A, qrels), "b": evaluate(RUN_B, qrels)})
    zt = tables.zero_table(zero, ds.queries, qrels)
    assert "q3" in zero and zt.set_index("qid").loc["q3", "relevant"] == len(qrels.relevant("q3"))
    lost = tables.unfound_table(failures.unfound_relevant({"a": RUN_A, "b": RUN_B}, qrels, k=10), ds.corpus, ds.queries)
    assert list(lost.columns) == ["qid", "query", "docid", "title", "grade", "best_rank", "best_system"]
    row = lost.set_index("docid").loc["d4"]
    assert (row["qid"], row["title"], row["query"]) == ("q4", "", ds.queries["q4"])  # d4 has no title
    assert lost.set_index("docid").loc["d3", "title"] == ds.corpus["d3"].title


def test_models_table_and_measured_rows(tiny_dir: Path):
    describe = {"bm25-flat": ("BM25 (flat)", "bm25", True, ""), "dense:x": ("X", "dense", False, "pip install x")}
    frame = tables.models_table(describe, describe.get, {"dense:x": 22.7}.get)
    assert frame.to_dict("records")[1] == {
        "system": "dense:x",
        "name": "X",
        "family": "dense",
        "parameters (M)": "22.7",
        "available here": "no",
        "how to get it / why not": "pip install x",
    }
    assert frame.loc[0, "parameters (M)"] == "n/a: BM25 has no parameters"  # shown as text, never "None"
    ds = tiny(tiny_dir)
    ev = evaluate(RUN_A, ds.qrels("test"))
    runs = pd.DataFrame(
        {
            "dataset": ["tiny", "tiny", "other"],
            "split": ["test", "dev", "test"],
            "system": ["a", "a", "a"],
            "path": ["p1", "p2", "p3"],
        }
    )
    rows = tables.measured_rows(runs, "tiny", lambda spec, split: ev if split == "test" else None, lambda s: ("A", "bm25"))
    assert len(rows) == 1 and rows[0]["label"] == "A [test]" and rows[0]["ndcg_at_10"] == ev.mean["nDCG@10"]
    assert "cached run a on tiny (test)" in rows[0]["source"] and rows[0]["params_millions"] is None
    assert rows[0]["setup"] == "a, 4 test queries" and rows[0]["series"] == ""
    minilm = tables.measured_rows(
        runs.assign(system="dense:all-MiniLM-L6-v2"), "tiny", lambda spec, split: ev, lambda s: ("M", "dense")
    )
    assert minilm[0]["params_millions"] == 22.7 and minilm[0]["series"]
    assert tables.measured_rows(runs.iloc[0:0], "tiny", None, None) == []


def test_card_markdown_escapes_data_and_keeps_our_markup(tiny_dir: Path):
    ds = tiny(tiny_dir)
    column = columns.query_column(columns.RunLookup(RUN_A), "q1", 10, ds.qrels("test").for_query("q1"))
    d5 = next(d for d in column.docs if d.docid == "d5")
    md = cards.card_md(d5, ds.corpus["d5"].title, ds.corpus["d5"].text, "vitamin", 320)
    head, title, snippet = md.split("\n\n")
    assert re.fullmatch(r"\*\*#2\*\* · doc d5 · score 2\.0000 · :orange-badge\[:material/help: unjudged\]", head)
    assert "<script>" not in md and "\\<script\\>" in title and ":orange[**vitamin**]" in snippet
    assert cards.card_md(d5, "", "", "x", 320, badges=False).split("\n\n")[0].endswith("score 2.0000")
    assert cards.card_key("upload:mine", "d/3") == "card-upload_mine_d_3"
    assert (
        cards.metrics_md({"nDCG@10": 0.5, "R@100": 1.0}, ("nDCG@10", "R@100", "Judged@10"))
        == "nDCG@10 **0.500** · R@100 **1.000**"
    )
    assert cards.metrics_md({}, ("nDCG@10",)) == "*not evaluated for this query*"
    missed = columns.MissedDoc("d3", 1, None)
    assert (
        cards.missed_md(missed, "Exercise", 100)
        == ":green-badge[:material/check_circle: relevant (1)] doc d3 · not in top 100 · Exercise"
    )
    assert cards.ranks_md({"BM25 (flat)": "#3"}) == f"{text.escape_markdown('BM25 (flat)')} #3"
    assert cards.snippet_chars(2) == 320 and cards.snippet_chars(3) < 320


def test_run_lookup_reads_each_query_as_the_run_does() -> None:
    """RunLookup's slices of the run's columns give what the run's own per-query frame gives: the top k in rank
    order (ties by the run contract), {docid: rank}, nothing for an absent query; also for a frame whose queries'
    rows are apart (looked up through the run)."""
    frame = pd.DataFrame(
        {
            "qid": ["q2", "q2", "q1", "q1", "q1", "q3"],
            "docid": ["d9", "d1", "d2", "d3", "d1", "d5"],
            "score": [2.0, 2.0, 5.0, 1.0, 3.0, 0.5],
        }
    )
    ranked = Run.from_frame(frame, "r")
    apart = Run(ranked.frame.iloc[[0, 3, 1, 4, 2, 5]].reset_index(drop=True), "r")  # built by hand, rows apart
    for run in (ranked, apart):
        lookup = columns.RunLookup(run)
        for qid in ("q1", "q2", "q3"):
            rows = run.for_query(qid)
            want = list(zip(rows["docid"], rows["rank"], rows["score"]))
            assert [tuple(r) for r in lookup.top(qid, 10)] == want
            assert list(lookup.top(qid, 1)) == want[:1]
            assert lookup.ranks(qid) == {d: r for d, r, _ in want}
        assert lookup.top("q1", 10)[0][0] == "d2" and [d for d, _, _ in lookup.top("q2", 2)] == ["d9", "d1"]
        assert lookup.top("nope", 5) == () and lookup.ranks("nope") == {}

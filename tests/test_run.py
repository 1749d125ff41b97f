"""The run contract: one tie rule (trec_eval's), TREC files round-trip, bad files name the line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from retrieval.errors import DataFormatError
from retrieval.run import Run, rank_frame


def test_tie_rule_is_score_desc_then_docid_desc() -> None:
    run = Run.from_records([("q", "a", 1.0), ("q", "c", 2.0), ("q", "b", 1.0), ("q", "d", 1.0), ("p", "x", 0.5)])
    assert run.for_query("q")["docid"].tolist() == ["c", "d", "b", "a"]
    assert run.for_query("q")["rank"].tolist() == [1, 2, 3, 4]
    assert run.for_query("p")["rank"].tolist() == [1]
    assert run.rank_lookup("q") == {"c": 1, "d": 2, "b": 3, "a": 4}


def test_tie_rule_matches_trec_eval_order() -> None:
    """pytrec_eval (trec_eval's C code) decides which tied document is 'first': P@1 tells us."""
    import pytrec_eval

    for docs in (["10", "9", "100"], ["b", "B", "a"], ["é", "e", "z"]):
        run = Run.from_records([("q", d, 1.0) for d in docs])
        first = run.for_query("q")["docid"].iloc[0]
        for d in docs:
            ev = pytrec_eval.RelevanceEvaluator({"q": {d: 1}}, {"P.1"})
            p1 = ev.evaluate({"q": {x: 1.0 for x in docs}})["q"]["P_1"]
            assert (p1 == 1.0) == (d == first), (docs, d, first)


def test_ranks_ignore_input_order_and_rank_column() -> None:
    frame = pd.DataFrame({"qid": ["1", "1", "1"], "docid": ["x", "y", "z"], "score": [0.1, 0.3, 0.2], "rank": [1, 2, 3]})
    shuffled = frame.sample(frac=1.0, random_state=3)
    assert rank_frame(frame).equals(rank_frame(shuffled))
    assert rank_frame(frame)["docid"].tolist() == ["y", "z", "x"]


def test_ranking_equals_a_plain_python_sort_on_random_runs() -> None:
    """rank_frame's integer keys and its already-ordered shortcut give Python's own string order:
    non-ASCII, astral and digit ids, -0.0 == 0.0, shuffled and pre-ordered input."""
    import random

    rnd = random.Random(7)
    ids = ["a", "b", "B", "é", "z", "10", "9", "ü1", "\U0001f600", "\uff5e", "ab", "a b", "Ω"] + [f"d{i}" for i in range(40)]
    for trial in range(40):
        rows = {
            (rnd.choice(["q1", "q2", "Q", "é", "10", "9"]), rnd.choice(ids)): rnd.choice([0.5, 1.0, -0.0, 0.0, 2.25, -3.0])
            for _ in range(rnd.randint(0, 400))
        }
        records = [(q, d, s) for (q, d), s in rows.items()]
        expected = sorted(records, key=lambda r: r[1], reverse=True)  # docid descending, then (stable)
        expected.sort(key=lambda r: (r[0], -r[2]))  # qid ascending, score descending
        given = expected if trial % 2 else rnd.sample(records, len(records))
        frame = rank_frame(pd.DataFrame(given, columns=["qid", "docid", "score"]))
        assert list(zip(frame["qid"], frame["docid"])) == [(q, d) for q, d, _ in expected]
        for q in {r[0] for r in records}:
            assert frame[frame["qid"] == q]["rank"].tolist() == list(range(1, sum(r[0] == q for r in records) + 1))


def test_run_rejects_duplicates_and_nan() -> None:
    with pytest.raises(ValueError, match="twice"):
        Run.from_records([("q", "a", 1.0), ("q", "a", 2.0)])
    with pytest.raises(ValueError, match="NaN"):
        Run.from_records([("q", "a", float("nan"))])


def test_trec_round_trip_keeps_exact_scores_and_order(tmp_path: Path) -> None:
    scores = [1 / 3, 2 / 3, 1e-300, -5.0, 2 / 3]
    run = Run.from_records([("q1", f"d{i}", s) for i, s in enumerate(scores)] + [("q2", "d0", 0.1)], name="my run")
    path = tmp_path / "out" / "run.trec"
    run.write_trec(path)
    again = Run.read_trec(path)
    assert again.frame.equals(run.frame)
    first = path.read_text().splitlines()[0].split()
    assert first[1] == "Q0" and first[5] == "my_run"
    assert not list(path.parent.glob("*.tmp"))


def test_truncate_restrict_and_missing_query() -> None:
    run = Run.from_records([("q", f"d{i}", float(i)) for i in range(5)] + [("p", "x", 1.0)])
    assert run.truncate(2).for_query("q")["docid"].tolist() == ["d4", "d3"]
    assert run.restrict(["p"]).qids == ["p"]
    assert run.for_query("nope").empty
    assert run.depth() == 5


def test_for_query_equals_a_groupby_also_for_a_frame_built_by_hand() -> None:
    """for_query slices the rows of each query where the qid changes (the tie rule keeps them together); a frame
    built by hand with one query's rows apart falls back to a groupby. Both give what pandas' groupby gives."""
    import random

    rnd = random.Random(3)
    run = Run.from_records([(rnd.choice(["1", "2", "10", "é", "q"]), f"d{i}", rnd.random()) for i in range(300)])
    apart = Run(run.frame.sample(frac=1, random_state=1).reset_index(drop=True))  # not ranked: rows scattered
    for r in (run, apart, Run(run.frame.iloc[0:0])):
        expected = {q: g for q, g in r.frame.groupby("qid", sort=False)}
        assert set(r.qids) == set(expected)
        for q, g in expected.items():
            assert r.for_query(q).equals(g)
            assert r.for_query(q, 2).equals(g.head(2))
        assert r.for_query("nope").empty


@pytest.mark.parametrize(
    "text, line, column, fragment",
    [
        ("q1 Q0 d1 1 1.5 tag\nq1 Q0 d2 2 1.0\n", 2, 15, "expected 6 columns 'qid Q0 docid rank score tag', found 5"),
        ("q1 Q0 d1 1 1.5 tag extra\n", 1, 20, "found 7"),
        ("q1 Q0 d1 1 high tag\n", 1, 12, "score 'high' is not a number"),
        ("q1 Q0 d1 one 1.0 tag\n", 1, 10, "rank 'one' is not a whole number"),
        ("\nq1 Q0 d1 1 1.0 t\nq1  Q0 d1 2 0.5 t\n", 3, 8, "listed again for query q1 (first on line 2)"),
        ("q1 Q0 d1 1 nan t\n", 1, 12, "not finite"),
        ("q1 Q0 d1 1 1.0 t\r\nq1\tQ0\td2\t2\tinf\tt\r\n", 2, 12, "not finite"),
        ("q1 Q0 d1 1 1.0 t\x0cq1 Q0 d2 2 0.5 t\n", 1, 18, "found 12"),  # a form feed does not end a line
    ],
)
def test_bad_trec_lines_name_line_and_column(tmp_path: Path, text: str, line: int, column: int, fragment: str) -> None:
    path = tmp_path / "bad.run"
    path.write_bytes(text.encode())
    with pytest.raises(DataFormatError) as err:
        Run.read_trec(path)
    assert str(err.value).startswith(f"{path}:{line}:{column}: ") and fragment in str(err.value)


def test_trec_bytes_that_are_not_utf8_name_line_column_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.run"
    data = "\ufeffq1 Q0 d1 1 2.0 t\nq1 Q0 café 2 1.0 t\n".encode() + "q1 Q0 naïve 3 0.5 t\n".encode("latin-1")
    path.write_bytes(data)
    with pytest.raises(DataFormatError) as err:
        Run.read_trec(path)
    offset = data.index(b"\xefve")  # the Latin-1 i-diaeresis (not the BOM's 0xef)
    assert str(err.value) == f"{path}:3:9: not UTF-8 text (invalid continuation byte: byte ef at file offset {offset})"


def test_empty_trec_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.run"
    path.write_text("\n")
    with pytest.raises(DataFormatError, match="no results"):
        Run.read_trec(path)
